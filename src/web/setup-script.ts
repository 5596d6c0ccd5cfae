// The setup pages' only script, served from Lanyard (the CSP allows no inline script). Everything
// it does is an enhancement: without it the values are selectable text and the XML can be pasted.
/** The source of /assets/setup.js. */
export const SETUP_SCRIPT = `'use strict';
(function () {
  var status = document.getElementById('copy-status');
  function say(text) { if (status) status.textContent = text; }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain-http deployments have no async clipboard: select a temporary field and copy it.
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand('copy');
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error('copy refused'));
  }
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      copyText(target.textContent.trim()).then(function () {
        button.textContent = 'Copied';
        say('Copied: ' + button.getAttribute('aria-label').replace(/^Copy /, ''));
      }, function () {
        var range = document.createRange();
        range.selectNodeContents(target);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = 'Press Ctrl+C';
        say('Selected; press Control C or Command C to copy');
      });
      setTimeout(function () { button.textContent = 'Copy'; }, 2500);
    });
  });
  document.querySelectorAll('input[type=file][data-fill]').forEach(function (input) {
    var wrapper = input.closest('[data-file-upload]');
    if (wrapper) wrapper.hidden = false;
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      var area = document.getElementById(input.getAttribute('data-fill'));
      if (!file || !area) return;
      file.text().then(function (text) { area.value = text; area.focus(); });
    });
  });
  // The Directory sync step's status: polled while the page is open, announced (role=status) when it changes.
  var live = document.querySelector('[data-status-url]');
  if (live && window.fetch) {
    var timer = setInterval(function () {
      fetch(live.getAttribute('data-status-url'), { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (status) {
          if (status === null) return clearInterval(timer);
          if (status.text && live.textContent !== status.text) live.textContent = status.text;
        }, function () {});
    }, 5000);
  }
  var focus = document.querySelector('[data-focus]');
  if (focus) focus.focus();
})();
`;
