// The organisation menu in the header: choosing one posts to its switch URL.
// (A file, not an inline handler: the Content-Security-Policy allows no inline script.)
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-switch-organisation]")) return;
    select.form.action = select.value;
    select.form.submit();
  });
})();
