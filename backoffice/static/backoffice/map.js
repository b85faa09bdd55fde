// The facility map: click a spot for its bookings, toggle maintenance, live colours from the event stream.
(function () {
  "use strict";
  const page = document.getElementById("map-page");
  if (!page) { return; }
  const grid = document.getElementById("grid");
  const panel = document.getElementById("spot-panel");
  const toggle = document.getElementById("toggle-maintenance");
  const csrf = page.querySelector("input[name=csrfmiddlewaretoken]").value;
  const spotUrl = (id) => page.dataset.spotUrl.replace("/0/", "/" + id + "/");
  let selected = null;

  function paint(cell, state) {
    cell.classList.remove("available", "reserved", "occupied", "maintenance");
    cell.classList.add(state);
    cell.dataset.state = state;
  }

  function describe(booking) {
    return booking ? booking.reference + " (" + booking.status + ", " + booking.start.slice(0, 16) + " → " + booking.end.slice(0, 16) + ")" : "none";
  }

  async function show(id) {
    const response = await fetch(spotUrl(id), { credentials: "same-origin" });
    const spot = await response.json();
    selected = spot.id;
    document.getElementById("spot-title").textContent = spot.code + " — " + spot.zone;
    document.getElementById("spot-state").textContent = spot.state;
    document.getElementById("spot-current").textContent = describe(spot.current);
    document.getElementById("spot-next").textContent = spot.next.length ? spot.next.map(describe).join("; ") : "none";
    panel.hidden = false;
  }

  grid.addEventListener("click", (event) => {
    const cell = event.target.closest(".cell");
    if (cell) { show(cell.dataset.spot); }
  });

  if (toggle) {
    toggle.addEventListener("click", async () => {
      if (selected === null) { return; }
      const response = await fetch(spotUrl(selected) + "maintenance/", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf },
      });
      const spot = await response.json();
      paint(grid.querySelector('[data-spot="' + spot.id + '"]'), spot.state);
      document.getElementById("spot-state").textContent = spot.state;
    });
  }

  async function refresh() {
    const response = await fetch(page.dataset.cellsUrl, { credentials: "same-origin" });
    const data = await response.json();
    for (const cell of data.cells) {
      const element = grid.querySelector('[data-spot="' + cell.id + '"]');
      if (element) { paint(element, cell.state); }
    }
  }

  if (window.EventSource) {
    const stream = new EventSource("/api/v1/events/stream/");
    stream.addEventListener("spot.availability", (event) => {
      const data = JSON.parse(event.data).data;
      if (String(data.facility) === page.dataset.facility) { refresh(); }
    });
  }
})();
