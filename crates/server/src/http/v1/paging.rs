//! Cursor pagination parameters, shared by every list.

use super::views::PageView;
use crate::error::ApiError;
use gatehouse_domain::ParseError;
use gatehouse_store::page::{DEFAULT_LIMIT, MAX_LIMIT};
use gatehouse_store::{Cursor, Page, PageRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1–500 (default 50).
    pub limit: Option<i64>,
}

impl PageParams {
    pub fn to_request(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_field(ParseError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            )));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
                ApiError::bad_field(ParseError::new(
                    "cursor",
                    "is not a cursor this API gave out",
                ))
            })?),
        };
        Ok(PageRequest { after, limit })
    }
}

pub fn page_view<R, T: ToSchema>(
    page: Page<R>,
    f: impl Fn(&R) -> T,
    base: &str,
    limit: i64,
) -> PageView<T> {
    let sep = if base.contains('?') { '&' } else { '?' };
    PageView {
        items: page.items.iter().map(f).collect(),
        next: page
            .next_cursor
            .as_ref()
            .map(|c| format!("{base}{sep}cursor={c}&limit={limit}")),
        next_cursor: page.next_cursor,
    }
}
