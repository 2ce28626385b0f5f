// Small progressive enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // the left navigation folds on a narrow screen (it starts open so it works without script)
  const side = document.getElementById("side-toggle");
  if (side && window.matchMedia("(max-width: 800px)").matches) side.removeAttribute("open");
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
  for (const button of document.querySelectorAll("[data-open-dialog]")) {
    button.addEventListener("click", () => document.getElementById(button.dataset.openDialog).showModal());
  }
  for (const button of document.querySelectorAll("[data-close-dialog]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  // The shared confirmation: a button that moves money, deletes or may repeat something
  // (data-confirm) asks first, in the page's own dialog. "{count}" becomes how many
  // rows are ticked ("{none}" the words when none is) and "{total}" their amounts (data-amount and
  // data-currency on each ticked box), so the question states what will move.
  const dialog = document.getElementById("confirm-dialog");
  const totals = (boxes) => {
    const sums = {};
    for (const box of boxes) {
      if (!box.dataset.amount) continue;
      const cur = box.dataset.currency || "";
      sums[cur] = (sums[cur] || 0) + Math.round(parseFloat(box.dataset.amount) * 100);
    }
    return Object.entries(sums).map(([cur, cents]) => `${(cents / 100).toFixed(2)} ${cur}`.trim()).join(" + ") || "nothing";
  };
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (button.dataset.confirmed === "yes") { delete button.dataset.confirmed; return; }
      event.preventDefault();
      const form = button.form;
      const ticked = form ? Array.from(form.elements).filter((e) => e.name === "ids" && e.checked) : [];
      let text = ticked.length === 0 && button.dataset.confirmNone ? button.dataset.confirmNone : button.dataset.confirm;
      text = text.replace("{count}", String(ticked.length)).replace("{total}", totals(ticked));
      document.getElementById("confirm-text").textContent = text;
      document.getElementById("confirm-go").onclick = () => {
        dialog.close();
        button.dataset.confirmed = "yes";
        button.click();
      };
      dialog.showModal();
    });
  }
  for (const box of document.querySelectorAll("[data-select-all]")) {
    const name = box.dataset.selectAll || "ids";  // the checkboxes' name (the portal's are "invoice")
    box.addEventListener("change", () => {
      for (const other of document.querySelectorAll(`input[name="${name}"]`)) other.checked = box.checked;
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
  // The connector form's "Find companies": the system lists the values the typed (or stored)
  // credentials see, and the text box becomes a list to pick from (same name, so the form posts it).
  for (const button of document.querySelectorAll("button[data-find]")) {
    button.addEventListener("click", async () => {
      const form = button.form;
      const data = new URLSearchParams(new FormData(form));
      data.set("field", button.dataset.find);
      if (form.dataset.card) data.set("card", form.dataset.card);
      const holder = button.closest(".field");
      const input = holder.querySelector("input, select");
      let note = holder.querySelector(".find-result");
      if (!note) {
        note = document.createElement("span");
        note.className = "find-result";
        note.setAttribute("role", "status");
        holder.appendChild(note);
      }
      note.className = "find-result muted";
      note.textContent = "Asking…";
      button.disabled = true;
      try {
        const response = await fetch(form.dataset.choicesUrl, {method: "POST", body: data,
                                                              headers: {Accept: "application/json"}});
        const answer = await response.json();
        if (!response.ok) {
          note.className = "find-result field-error";
          note.textContent = answer.error || "The system could not be asked.";
          return;
        }
        const select = document.createElement("select");
        select.name = input.name;
        select.id = input.id;
        select.required = input.required;
        for (const option of answer.options) {
          const item = document.createElement("option");
          item.value = item.textContent = option;
          item.selected = option === input.value;
          select.appendChild(item);
        }
        input.replaceWith(select);
        note.textContent = `${answer.options.length} found: pick one.`;
      } catch (error) {
        note.className = "find-result field-error";
        note.textContent = "The hub could not be reached.";
      } finally {
        button.disabled = false;
      }
    });
  }
});

// A form with data-preview-url shows in its [data-preview] output what the server computes from
// the fields as they are typed (the plan line's amount a period, by the rules firming uses).
document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-preview-url]")) {
    const output = form.querySelector("[data-preview]");
    let timer;
    const refresh = async () => {
      const params = new URLSearchParams(new FormData(form));
      params.delete("csrf_token");
      try {
        const response = await fetch(`${form.dataset.previewUrl}?${params}`, {headers: {Accept: "application/json"}});
        if (response.ok) output.textContent = (await response.json()).text;
      } catch (error) {
        output.textContent = "";
      }
    };
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 200); });
  }
});
