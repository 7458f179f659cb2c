// Gatehouse staff pages: the only script. It keeps the person page's safety
// section current without a reload (polling a small fragment every second),
// and moves focus to an error summary or a preview when a page has one.
(function () {
  'use strict';
  var focus = document.querySelector('[data-autofocus]');
  if (focus) { focus.focus(); }

  var live = document.querySelector('[data-live-src]');
  if (!live || !window.fetch) { return; }
  var src = live.getAttribute('data-live-src');
  var status = document.getElementById('live-status');
  var say = function (text) { if (status) { status.textContent = text; } };
  var stopped = false;

  function poll() {
    if (stopped) { return; }
    var version = live.getAttribute('data-live-version') || '';
    fetch(src + '?v=' + encodeURIComponent(version), {
      credentials: 'same-origin', cache: 'no-store', headers: { 'Accept': 'text/html' }
    }).then(function (r) {
      if (r.status === 204) { return null; }
      if (r.status === 200) {
        var next = r.headers.get('X-Live-Version') || '';
        return r.text().then(function (html) {
          live.innerHTML = html;
          live.setAttribute('data-live-version', next);
          live.classList.add('gh-live--updated');
          say('Safety information updated at ' + new Date().toLocaleTimeString('en-GB') + '.');
        });
      }
      stopped = true;
      say(r.status === 401 ? 'You have been signed out: sign in again to see changes.'
                           : 'Live updates stopped: reload the page.');
      return null;
    }).catch(function () {
      say('Connection lost; trying again.');
    }).then(function () {
      if (!stopped) { window.setTimeout(poll, 1000); }
    });
  }
  window.setTimeout(poll, 1000);
})();
