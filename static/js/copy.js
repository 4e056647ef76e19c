// Copy buttons: a button[data-copy] copies the text of the element just before it
// (a command, a token, a DNS record) and says "Copied" for a moment.
// (A file, not an inline handler: the Content-Security-Policy allows no inline script.)
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-copy]") : null;
    if (!button || !navigator.clipboard) return;
    var source = button.previousElementSibling;
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  });
})();
