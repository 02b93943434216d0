// agentgym workbench widgets (anywidget ESM). Renders `state`; actions set `command`.
// Every piece of text from data or models goes through textContent (no HTML parsing of data).

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function send(model, cmd) {
  model.set("command", { ...cmd, nonce: `${Date.now()}-${Math.random()}` });
  model.save_changes();
}

function fmt(x) {
  return typeof x === "number" ? (Math.round(x * 1000) / 1000).toString() : String(x ?? "");
}

function ratingBar(model, st, stepIdx) {
  const key = stepIdx === null ? "episode" : String(stepIdx);
  const saved = st.ratings?.[key];
  const chosen = new Set(saved?.tags ?? []);
  const bar = h("div", { class: "ag-rate", "data-step": key });
  const comment = h("input", { class: "ag-comment", placeholder: "comment", value: saved?.comment ?? "" });
  const tagEls = (st.tags ?? []).map((t) => {
    const b = h("button", { class: "ag-tag" + (chosen.has(t) ? " on" : ""), text: t,
      onclick: () => { chosen.has(t) ? chosen.delete(t) : chosen.add(t); b.classList.toggle("on"); } });
    return b;
  });
  const values = st.scale_values ?? [0, 1];
  const label = (v) => (st.scale === "thumbs" ? (v > 0 ? "✓ good" : "✗ bad") : fmt(v));
  for (const v of values) {
    bar.append(h("button", { class: "ag-value" + (saved && saved.value === v ? " on" : ""), "data-value": v,
      title: `rate ${fmt(v)}`, text: label(v),
      onclick: () => send(model, { cmd: "rate", value: v, step_idx: stepIdx, tags: [...chosen], comment: comment.value }) }));
  }
  bar.append(...tagEls, comment, h("span", { class: "ag-saved", text: saved ? "saved ✓" : "" }));
  return bar;
}

function toolForm(model, st) {
  const tools = st.tools ?? [];
  if (!tools.length) return h("div");
  const select = h("select", { class: "ag-tool-select" }, tools.map((t) => h("option", { value: t.name, text: t.name })));
  const fieldsBox = h("div", { class: "ag-fields" });
  const inputs = {};
  const draw = () => {
    fieldsBox.replaceChildren();
    const tool = tools.find((t) => t.name === select.value) ?? tools[0];
    for (const f of tool.fields) {
      const input = f.choices.length
        ? h("select", { name: f.name }, h("option", { value: "", text: "" }), f.choices.map((c) => h("option", { value: c, text: c })))
        : h("input", { name: f.name, placeholder: f.type });
      inputs[f.name] = input;
      fieldsBox.append(h("label", { class: "ag-field" + (f.required ? " required" : ""), title: f.description },
        h("span", { text: f.name + (f.required ? " *" : "") }), input));
    }
  };
  select.addEventListener("change", draw);
  draw();
  const call = h("button", { class: "ag-call", text: "Call tool", onclick: () => {
    const args = {};
    for (const [k, el] of Object.entries(inputs)) if (el.isConnected && el.value !== "") args[k] = el.value;
    send(model, { cmd: "call_tool", name: select.value, arguments: args });
  } });
  return h("details", { class: "ag-toolbox" }, h("summary", { text: "Build a tool call" }), select, fieldsBox, call);
}

function verdictBox(v) {
  const crit = Object.entries(v.criteria ?? {}).map(([k, x]) => `${k} ${fmt(x)}`).join(" · ");
  return h("div", { class: "ag-verdict ag-live" },
    h("div", { class: "ag-score", text: `judge: ${v.score === null || v.score === undefined ? "unscored" : fmt(v.score)}` + (crit ? ` (${crit})` : "") }),
    h("div", { class: "ag-reasoning", text: v.reasoning || v.error || "" }));
}

function renderStepper(model, el) {
  const st = model.get("state") ?? {};
  const head = h("div", { class: "ag-head" },
    h("b", { text: `${st.env_id ?? ""} · task ${st.task_id ?? "-"} · seed ${st.seed ?? 0} · turn ${st.turn ?? 0}` }),
    st.done ? h("span", { class: "ag-done", text: " · episode over" }) : null);
  const taskInput = h("input", { class: "ag-task", placeholder: "task id (empty: random)", list: "ag-tasks" });
  const seedInput = h("input", { class: "ag-seed", type: "number", value: st.seed ?? 0 });
  const reveal = h("input", { type: "checkbox", class: "ag-reveal", checked: st.goal !== null && st.goal !== undefined });
  const controls = h("div", { class: "ag-controls" },
    taskInput, h("datalist", { id: "ag-tasks" }, (model.get("tasks") ?? []).map((t) => h("option", { value: t }))),
    seedInput, h("label", {}, reveal, " show goal"),
    h("button", { class: "ag-start", text: "New episode", onclick: () =>
      send(model, { cmd: "start", task_id: taskInput.value || null, seed: Number(seedInput.value || 0), reveal_goal: reveal.checked }) }),
    h("button", { class: "ag-restart", text: "Restart (same seed)", onclick: () => send(model, { cmd: "restart" }) }),
    h("button", { class: "ag-undo", text: "Undo", disabled: !st.can_undo, onclick: () => send(model, { cmd: "undo" }) }));
  const chat = h("div", { class: "ag-chat" });
  for (const m of st.chat ?? []) {
    const bubble = h("div", { class: `ag-msg ag-${m.role}` + (m.error ? " ag-error" : "") },
      h("div", { class: "ag-role", text: m.role + (m.format ? ` · ${m.format}` : "") }),
      h("div", { class: "ag-text", text: m.text }),
      m.error ? h("div", { class: "ag-errtext", text: m.error }) : null);
    if (m.verdict) bubble.append(verdictBox(m.verdict));
    if (m.role === "agent") bubble.append(ratingBar(model, st, m.idx));
    chat.append(bubble);
  }
  const box = h("textarea", { class: "ag-input", rows: 2, placeholder: "Message to the user, a JSON tool call, or [finish]" });
  const sendBtn = h("button", { class: "ag-send", text: "Send", disabled: st.done, onclick: () => {
    if (box.value.trim()) send(model, { cmd: "send", text: box.value });
  } });
  box.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) sendBtn.click(); });
  const reward = h("table", { class: "ag-reward" },
    Object.entries(st.reward ?? {}).map(([k, v]) => h("tr", {}, h("td", { text: k }), h("td", { text: fmt(v) }))));
  const judge = st.judge ?? {};
  const judgeBox = judge.configured ? h("div", { class: "ag-judge" }, h("h4", { text: "Judge" }),
    judge.episode_verdict ? verdictBox(judge.episode_verdict)
      : h("p", { text: judge.mode === "step" ? "Verdicts appear under each agent message." : "The judge scores the episode when it ends." })) : null;
  const side = h("div", { class: "ag-side" }, h("h4", { text: "Reward" }), reward, judgeBox,
    st.goal ? h("details", { open: true }, h("summary", { text: "Hidden goal" }), h("pre", { class: "ag-goal", text: (st.goal_lines ?? []).join("\n") })) : null,
    h("h4", { text: "Rate the episode" }), ratingBar(model, st, null));
  el.replaceChildren(h("div", { class: "ag-stepper" }, head, controls,
    st.error ? h("div", { class: "ag-alert", text: st.error }) : null,
    h("div", { class: "ag-main" }, h("div", { class: "ag-left" }, chat, h("div", { class: "ag-compose" }, box, sendBtn), toolForm(model, st)), side)));
}

function renderInspector(model, el) {
  const st = model.get("state") ?? {};
  const target = st.step_idx === null || st.step_idx === undefined ? "whole episode" : `step ${st.step_idx}`;
  const verdicts = (st.verdicts ?? []).map((v) => h("div", { class: "ag-verdict" },
    h("div", { class: "ag-score", text: `${v.judge}: ${v.score === null ? "unscored" : fmt(v.score)}` }),
    h("table", {}, Object.entries(v.criteria ?? {}).map(([k, s]) => h("tr", {}, h("td", { text: k }), h("td", { text: fmt(s) })))),
    h("div", { class: "ag-reasoning", text: v.reasoning }),
    h("details", {}, h("summary", { text: "exact prompt" }), h("pre", { class: "ag-prompt", text: v.prompt }))));
  const ratings = (st.ratings ?? []).map((r) => h("li", { text: `${r.rater}: ${fmt(r.value)} (${r.scale}) ${r.tags.join(", ")} ${r.comment}` }));
  el.replaceChildren(h("div", { class: "ag-inspector" },
    h("h4", { text: `Judge on ${target} of ${st.episode_id ?? ""}` }),
    st.error ? h("div", { class: "ag-alert", text: st.error }) : null,
    verdicts.length ? verdicts : h("p", { text: "No verdict for this yet." }),
    h("h4", { text: `Human ratings (mean ${st.human_mean === null || st.human_mean === undefined ? "-" : fmt(st.human_mean)})` }),
    ratings.length ? h("ul", {}, ratings) : h("p", { text: "No human rating yet." })));
}

function renderBrowser(model, el) {
  const st = model.get("state") ?? {};
  const f = st.filters ?? {};
  const inputs = {
    agent: h("input", { placeholder: "agent", value: f.agent ?? "" }),
    version: h("input", { placeholder: "version", value: f.version ?? "" }),
    task_id: h("input", { placeholder: "task", value: f.task_id ?? "" }),
    min_reward: h("input", { placeholder: "min reward", type: "number", step: "0.05", value: f.min_reward ?? "" }),
    run: h("input", { placeholder: "training run", value: f.run ?? "" }),
    step: h("input", { placeholder: "step", type: "number", step: "1", value: f.step ?? "" }),
    rated: h("select", {}, ["", "yes", "no"].map((v) => h("option", { value: v, text: v || "rated?", selected: (f.rated === true && v === "yes") || (f.rated === false && v === "no") }))),
  };
  const filterBtn = h("button", { class: "ag-filter", text: "Filter", onclick: () =>
    send(model, { cmd: "filter", ...Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value])) }) });
  const rows = (st.episodes ?? []).map((e) => h("tr", { class: e.id === st.open ? "on" : "", onclick: () => send(model, { cmd: "open", episode_id: e.id }) },
    ["agent", "version", "task_id", "status", "n_steps", "total_reward", "success", "run", "step", "ratings"].map((k) => h("td", { text: fmt(e[k]) }))));
  const table = h("table", { class: "ag-episodes" },
    h("tr", {}, ["agent", "version", "task", "status", "steps", "reward", "success", "run", "step", "ratings"].map((k) => h("th", { text: k }))), rows);
  let replay = null;
  if (st.open) {
    const turns = st.turns ?? [];
    let i = 0;
    const pane = h("div", { class: "ag-replay" });
    const draw = () => {
      const shown = turns.slice(0, i + 1).map((t) => h("div", { class: "ag-turn" },
        t.action !== null ? h("div", { class: "ag-msg ag-agent" }, h("div", { class: "ag-text", text: String(t.action) })) : null,
        t.observation ? h("div", { class: "ag-msg ag-user" }, h("div", { class: "ag-text", text: t.observation })) : null,
        h("div", { class: "ag-meta", text: `step ${t.idx} · reward ${fmt(t.reward)} · total ${fmt(t.total)}` +
          (t.ratings.length ? ` · rated ${t.ratings.map((r) => fmt(r.value)).join(",")}` : "") +
          (t.verdicts.length ? ` · judge ${t.verdicts.map((v) => fmt(v.score)).join(",")}` : "") })));
      pane.replaceChildren(h("div", { class: "ag-controls" },
        h("button", { text: "◀ prev", onclick: () => { i = Math.max(0, i - 1); draw(); } }),
        h("span", { text: ` turn ${i + 1} / ${turns.length} ` }),
        h("button", { text: "next ▶", onclick: () => { i = Math.min(turns.length - 1, i + 1); draw(); } }),
        h("button", { text: "all", onclick: () => { i = turns.length - 1; draw(); } })), ...shown);
    };
    draw();
    replay = pane;
  }
  el.replaceChildren(h("div", { class: "ag-browser" }, h("div", { class: "ag-controls" }, Object.values(inputs), filterBtn),
    st.error ? h("div", { class: "ag-alert", text: st.error }) : null, table, replay));
}

const RENDERERS = { stepper: renderStepper, inspector: renderInspector, browser: renderBrowser };

function render({ model, el }) {
  const draw = () => (RENDERERS[model.get("kind")] ?? (() => el.replaceChildren(h("div", { text: "unknown widget" }))))(model, el);
  draw();
  model.on("change:state", draw);
  return () => model.off("change:state", draw);
}

export default { render };
