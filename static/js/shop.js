// The demo shop's own script: the widget's command queue (as a site would
// paste it), and two buttons that open the chat through it.
window.chatd = window.chatd || function () { (window.chatd.q = window.chatd.q || []).push(arguments); };
document.addEventListener('DOMContentLoaded', function () {
  ['ask', 'ask2'].forEach(function (id) {
    var b = document.getElementById(id);
    if (b) b.addEventListener('click', function () { window.chatd('open'); });
  });
});
