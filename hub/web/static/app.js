// Small helpers only; every page works without them.
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.pick").forEach(function (box) { box.checked = all.checked; });
    });
  }
  // The overview refreshes itself every 30 s, unless the operator is typing somewhere.
  if (location.pathname === "/ui") {
    setInterval(function () {
      if (!document.activeElement || document.activeElement === document.body) { location.reload(); }
    }, 30000);
  }
});
