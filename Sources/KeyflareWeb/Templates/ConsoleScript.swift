/// The console's one script, served from `/console/static/console.js` so that the
/// Content-Security-Policy can forbid inline script. It wires the Copy button of a new token.
enum ConsoleScript {
    static let javascript = """
        (function () {
          var button = document.getElementById('copy-secret');
          if (!button) { return; }
          button.addEventListener('click', function () {
            var field = document.getElementById('secret-value');
            var status = document.getElementById('copy-status');
            var done = function () { status.textContent = 'Copied.'; };
            field.select();
            if (navigator.clipboard) {
              navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand('copy'); done(); });
            } else {
              document.execCommand('copy');
              done();
            }
          });
        })();

        """
}
