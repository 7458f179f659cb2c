//! Staff accounts and sessions, held on both engines.

use chrono::{Duration, Utc};
use gatehouse_domain::Scope;
use gatehouse_store::testing::fresh_store_with_url;
use gatehouse_store::*;
use std::sync::Arc;

macro_rules! on_both_engines {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (store, url) =
                    fresh_store_with_url(EngineKind::Sqlite, stringify!($name)).await;
                ($body)(store, url).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (store, url) =
                    fresh_store_with_url(EngineKind::Postgres, stringify!($name)).await;
                ($body)(store, url).await;
            }
        }
    };
}

fn officer(name: &str) -> NewStaffUser {
    NewStaffUser {
        username: name.into(),
        display_name: "Officer Example".into(),
        role: StaffRole::Officer,
        establishments: Scope::parse("LEI,MDI").unwrap(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
    }
}

fn new_session(user: &str, token_hash: &str, hours: i64) -> NewStaffSession {
    NewStaffSession {
        token_hash: token_hash.into(),
        username: user.into(),
        csrf_token: format!("csrf-{token_hash}"),
        expires_at: Utc::now() + Duration::hours(hours),
    }
}

on_both_engines!(
    users_are_created_read_and_listed,
    |store: Arc<dyn Store>, _url: String| async move {
        let made = store
            .create_staff_user(&officer("officer.a"))
            .await
            .unwrap();
        assert_eq!(made.role, StaffRole::Officer);
        assert!(made.disabled_at.is_none());
        let read = store.staff_user("officer.a").await.unwrap().unwrap();
        assert_eq!(read.username, "officer.a");
        assert_eq!(read.display_name, "Officer Example");
        assert_eq!(read.establishments, Scope::parse("LEI,MDI").unwrap());
        assert_eq!(read.password_hash, made.password_hash);
        assert!((read.created_at - made.created_at).num_milliseconds().abs() < 1000);
        assert!(store.staff_user("nobody").await.unwrap().is_none());

        let mut nurse = officer("nurse.b");
        nurse.role = StaffRole::Healthcare;
        nurse.establishments = Scope::All;
        store.create_staff_user(&nurse).await.unwrap();
        let all = store.list_staff_users().await.unwrap();
        let names: Vec<_> = all.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["nurse.b", "officer.a"]);
        assert_eq!(all[0].role, StaffRole::Healthcare);
        assert_eq!(all[0].establishments, Scope::All);
    }
);

on_both_engines!(
    a_username_is_taken_once,
    |store: Arc<dyn Store>, _url: String| async move {
        store
            .create_staff_user(&officer("officer.a"))
            .await
            .unwrap();
        let again = store.create_staff_user(&officer("officer.a")).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        assert_eq!(store.list_staff_users().await.unwrap().len(), 1);
    }
);

on_both_engines!(
    sessions_live_until_revoked_or_expired,
    |store: Arc<dyn Store>, _url: String| async move {
        store
            .create_staff_user(&officer("officer.a"))
            .await
            .unwrap();
        let s = store
            .create_session(&new_session("officer.a", "aa11", 8))
            .await
            .unwrap();
        assert_eq!(s.user.username, "officer.a");
        let live = store.session("aa11", Utc::now()).await.unwrap().unwrap();
        assert_eq!(live.csrf_token, "csrf-aa11");
        assert_eq!(live.user.role, StaffRole::Officer);
        assert_eq!(live.expires_at, s.expires_at);
        // Expired by the clock: not live.
        assert!(
            store
                .session("aa11", Utc::now() + Duration::hours(9))
                .await
                .unwrap()
                .is_none()
        );
        // An unknown token: nothing.
        assert!(store.session("bb22", Utc::now()).await.unwrap().is_none());
        // Revoked: gone, and revoking twice says so.
        assert!(store.revoke_session("aa11").await.unwrap());
        assert!(store.session("aa11", Utc::now()).await.unwrap().is_none());
        assert!(!store.revoke_session("aa11").await.unwrap());
        assert!(!store.revoke_session("unknown").await.unwrap());
        // An already expired session is never live.
        store
            .create_session(&new_session("officer.a", "cc33", -1))
            .await
            .unwrap();
        assert!(store.session("cc33", Utc::now()).await.unwrap().is_none());
    }
);

on_both_engines!(
    no_session_for_unknown_or_disabled_users,
    |store: Arc<dyn Store>, url: String| async move {
        let none = store.create_session(&new_session("ghost", "dd44", 8)).await;
        assert!(matches!(none, Err(StoreError::NotFound(_))), "{none:?}");
        store
            .create_staff_user(&officer("officer.a"))
            .await
            .unwrap();
        store
            .create_session(&new_session("officer.a", "ee55", 8))
            .await
            .unwrap();
        // Disabling the account ends its sessions and refuses new ones.
        gatehouse_store::testing::execute_raw(
            &url,
            "UPDATE staff_users SET disabled_at = created_at WHERE username = 'officer.a'",
        )
        .await;
        assert!(store.session("ee55", Utc::now()).await.unwrap().is_none());
        let refused = store
            .create_session(&new_session("officer.a", "ff66", 8))
            .await;
        assert!(
            matches!(refused, Err(StoreError::NotFound(_))),
            "{refused:?}"
        );
        assert!(
            store
                .staff_user("officer.a")
                .await
                .unwrap()
                .unwrap()
                .disabled_at
                .is_some()
        );
    }
);

on_both_engines!(
    staff_tables_are_not_person_data,
    |store: Arc<dyn Store>, _url: String| async move {
        let before = store.counts().await.unwrap();
        store
            .create_staff_user(&officer("officer.a"))
            .await
            .unwrap();
        store
            .create_session(&new_session("officer.a", "aa11", 8))
            .await
            .unwrap();
        assert_eq!(store.counts().await.unwrap(), before);
    }
);
