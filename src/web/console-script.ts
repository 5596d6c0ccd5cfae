// The console's own script, served from Lanyard (the CSP allows no inline script). Without it
// every date still reads in UTC; with it, in the viewer's time zone.
/** Where the console script is served. */
export const CONSOLE_SCRIPT_PATH = '/assets/console.js';

/** The source of /assets/console.js. */
export const CONSOLE_SCRIPT = `'use strict';
(function () {
  var format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  document.querySelectorAll('time[datetime]').forEach(function (node) {
    var date = new Date(node.getAttribute('datetime'));
    if (isNaN(date.getTime())) return;
    node.title = node.textContent;
    node.textContent = format.format(date);
  });
})();
`;
