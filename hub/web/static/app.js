// Small progressive enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  for (const button of document.querySelectorAll("[data-open-dialog]")) {
    button.addEventListener("click", () => document.getElementById(button.dataset.openDialog).showModal());
  }
  for (const button of document.querySelectorAll("[data-close-dialog]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  // A button that moves money, deletes or may repeat something asks first.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
  for (const box of document.querySelectorAll("[data-select-all]")) {
    box.addEventListener("change", () => {
      for (const other of document.querySelectorAll('input[name="ids"]')) other.checked = box.checked;
    });
  }
  // Sync Now: while a card's sync runs, show the rows reaching the hub, then reload for the counts.
  for (const panel of document.querySelectorAll(".sync[data-sync-url]")) {
    if (!["starting", "running"].includes(panel.dataset.state)) continue;
    const card = panel.closest(".connector");
    const poll = async () => {
      let status;
      try {
        const response = await fetch(panel.dataset.syncUrl, {headers: {Accept: "application/json"}});
        status = await response.json();
      } catch (error) {
        setTimeout(poll, 2000);
        return;
      }
      for (const [stream, count] of Object.entries(status.in_hub || {})) {
        const cell = card.querySelector(`tr[data-stream="${stream}"] .in-hub`);
        if (cell) cell.textContent = count;
      }
      panel.querySelector(".sync-state").textContent = status.running ? "Syncing… (rows in the hub so far)" : `Sync ${status.state}`;
      if (status.running) setTimeout(poll, 1000);
      else window.location.reload();
    };
    poll();
  }
});
