// Atalaya console: small progressive enhancements (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }
  ready(function () {
    // The browser's time zone goes with the login form, so times show in the person's zone.
    document.querySelectorAll("input[data-browser-tz]").forEach(function (el) {
      try { el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { el.value = "UTC"; }
    });
    // The language switcher submits on change and comes back to the same page.
    document.querySelectorAll("input[data-back]").forEach(function (el) { el.value = location.pathname + location.search; });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
  });
})();
