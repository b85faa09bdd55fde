// The dashboard reloads its numbers when live events arrive (at most every 5 seconds).
(function () {
  "use strict";
  const dashboard = document.getElementById("dashboard");
  if (!dashboard || !window.EventSource) { return; }
  let pending = null;
  const stream = new EventSource(dashboard.dataset.stream);
  const reload = () => {
    if (pending) { return; }
    pending = setTimeout(async () => {
      pending = null;
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      const html = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = html.getElementById("dashboard");
      if (fresh) { dashboard.innerHTML = fresh.innerHTML; }
    }, 5000);
  };
  ["booking.created", "booking.updated", "spot.availability", "gate.status"].forEach((type) => stream.addEventListener(type, reload));
})();
