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

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// A rating bar that lives as long as its message: the tags picked and the comment typed survive every
// update; toggling a tag or editing the comment of a saved rating saves it again (the same rating row).
function ratingBar(model, stepIdx) {
  const key = stepIdx === null ? "episode" : String(stepIdx);
  const chosen = new Set();
  let saved = null;
  const bar = h("div", { class: "ag-rate", "data-step": key });
  const comment = h("input", { class: "ag-comment", placeholder: "comment" });
  const status = h("span", { class: "ag-saved" });
  const tagButtons = new Map();
  const valueButtons = [];
  let built = false;
  const retag = () => {
    if (saved) {
      setText(status, "saving…");
      send(model, { cmd: "retag", step_idx: stepIdx, tags: [...chosen], comment: comment.value });
    } else showStatus();
  };
  comment.addEventListener("change", retag);
  const showStatus = () => {
    const same = saved && saved.comment === comment.value && JSON.stringify([...(saved.tags ?? [])].sort()) === JSON.stringify([...chosen].sort());
    setText(status, saved ? (same ? "saved ✓" : "saving…") : (chosen.size || comment.value ? "not saved: pick a rating" : ""));
    status.classList.toggle("ag-unsaved", !saved && (chosen.size > 0 || comment.value !== ""));
  };
  const build = (st) => {
    const label = (v) => (st.scale === "thumbs" ? (v > 0 ? "✓ good" : "✗ bad") : fmt(v));
    for (const v of st.scale_values ?? [0, 1]) {
      const b = h("button", { class: "ag-value", "data-value": v, title: `rate ${fmt(v)}`, text: label(v),
        onclick: () => { setText(status, "saving…"); send(model, { cmd: "rate", value: v, step_idx: stepIdx, tags: [...chosen], comment: comment.value }); } });
      valueButtons.push([v, b]);
      bar.append(b);
    }
    for (const t of st.tags ?? []) {
      const b = h("button", { class: "ag-tag", text: t, onclick: () => {
        chosen.has(t) ? chosen.delete(t) : chosen.add(t);
        b.classList.toggle("on", chosen.has(t));
        retag();
      } });
      tagButtons.set(t, b);
      bar.append(b);
    }
    bar.append(comment, status);
    built = true;
  };
  const update = (st) => {
    if (!built) build(st);
    const now = st.ratings?.[key] ?? null;
    if (JSON.stringify(now) !== JSON.stringify(saved)) {
      saved = now;
      if (saved) {  // what the store holds is what is shown
        chosen.clear();
        for (const t of saved.tags ?? []) chosen.add(t);
        if (document.activeElement !== comment) comment.value = saved.comment ?? "";
      }
    }
    for (const [t, b] of tagButtons) b.classList.toggle("on", chosen.has(t));
    for (const [v, b] of valueButtons) b.classList.toggle("on", !!saved && saved.value === v);
    showStatus();
  };
  return { el: bar, update };
}

// One form field per JSON schema node: strings, enums, numbers, integers, booleans, arrays (rows added
// and removed) and nested objects. read() gives the typed value (undefined when left empty) and the
// problems found, so a call is checked before it is sent.
function plainSchema(s) {
  s = s ?? {};
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    const real = alts.filter((a) => a && a.type !== "null");
    if (real.length) return { ...plainSchema(real[0]), description: s.description ?? real[0].description, title: s.title ?? real[0].title };
  }
  if (Array.isArray(s.type)) return { ...s, type: s.type.find((t) => t !== "null") ?? "string" };
  return s;
}

function schemaField(rawSchema, path) {
  const s = plainSchema(rawSchema);
  const type = s.enum ? "enum" : s.type ?? (s.properties ? "object" : "string");
  if (type === "object" && s.properties) {
    const required = new Set(s.required ?? []);
    const kids = Object.entries(s.properties).map(([name, sub]) => {
      const f = schemaField(sub, path ? `${path}.${name}` : name);
      return { name, f, required: required.has(name), sub: plainSchema(sub) };
    });
    kids.sort((a, b) => Number(b.required) - Number(a.required));
    const el = h("div", { class: "ag-object" }, kids.map((k) =>
      h("label", { class: "ag-field" + (k.required ? " required" : "") + (k.f.wide ? " ag-wide" : ""), title: k.sub.description ?? "", "data-field": k.name },
        h("span", { text: k.name + (k.required ? " *" : "") + (k.sub.type && !k.sub.enum ? ` (${k.sub.type})` : "") }), k.f.el)));
    return { el, wide: true, read: () => {
      const out = {}; const errors = [];
      for (const k of kids) {
        const r = k.f.read();
        errors.push(...r.errors);
        if (r.value !== undefined) out[k.name] = r.value;
        else if (k.required && path) errors.push(`${path}.${k.name} is required`);
      }
      return { value: Object.keys(out).length ? out : undefined, errors };
    }, kids };
  }
  if (type === "array") {
    const rows = h("div", { class: "ag-rows" });
    const items = [];
    const add = () => {
      const f = schemaField(s.items ?? {}, `${path}[${items.length}]`);
      const row = h("div", { class: "ag-row" }, f.el);
      const entry = { f, row };
      row.append(h("button", { class: "ag-remove", title: "remove this row", text: "×", onclick: (e) => {
        e.preventDefault(); items.splice(items.indexOf(entry), 1); row.remove(); } }));
      items.push(entry);
      rows.append(row);
    };
    const el = h("div", { class: "ag-array" }, rows,
      h("button", { class: "ag-add", text: `+ add ${path.split(".").pop().replace(/\[\d+\]$/, "")}`, onclick: (e) => { e.preventDefault(); add(); } }));
    return { el, wide: true, add, read: () => {
      const out = []; const errors = [];
      items.forEach(({ f }, i) => {
        const r = f.read();
        errors.push(...r.errors.map((m) => m.replace(/\[\d+\]/, `[${i}]`)));
        if (r.value === undefined) errors.push(`${path}[${i}] is empty: fill it or remove the row`);
        else out.push(r.value);
      });
      return { value: out.length ? out : undefined, errors };
    } };
  }
  if (type === "enum" || type === "boolean") {
    const choices = type === "boolean" ? [true, false] : s.enum;
    const el = h("select", { name: path }, h("option", { value: "", text: "" }), choices.map((c, i) => h("option", { value: String(i), text: String(c) })));
    return { el, read: () => ({ value: el.value === "" ? undefined : choices[Number(el.value)], errors: [] }) };
  }
  if (type === "integer" || type === "number") {
    const el = h("input", { name: path, type: "number", step: type === "integer" ? "1" : "any", placeholder: type });
    return { el, read: () => {
      const text = el.value.trim();
      if (text === "") return { value: undefined, errors: el.validity.badInput ? [`${path} must be a number`] : [] };
      const x = Number(text);
      if (!Number.isFinite(x)) return { value: undefined, errors: [`${path} must be a number, got "${text}"`] };
      if (type === "integer" && !Number.isInteger(x)) return { value: undefined, errors: [`${path} must be a whole number, got ${text}`] };
      return { value: x, errors: [] };
    } };
  }
  const el = h("input", { name: path, placeholder: s.format ?? type });
  return { el, read: () => ({ value: el.value === "" ? undefined : el.value, errors: [] }) };
}

// The tool call builder: one form per tool, kept (open state and values) across every update and call.
function toolForm(model) {
  const select = h("select", { class: "ag-tool-select" });
  const desc = h("div", { class: "ag-tool-desc" });
  const fieldsBox = h("div", { class: "ag-fields" });
  const problems = h("div", { class: "ag-form-errors" });
  const forms = new Map();
  let catalogue = "";
  let tools = [];
  const current = () => {
    const name = select.value;
    if (!forms.has(name)) {
      const tool = tools.find((t) => t.name === name);
      forms.set(name, schemaField({ type: "object", ...(tool?.parameters ?? {}) }, ""));
    }
    return forms.get(name);
  };
  const draw = () => {
    const tool = tools.find((t) => t.name === select.value);
    setText(desc, tool?.description ?? "");
    fieldsBox.replaceChildren(current().el);
    problems.replaceChildren();
  };
  select.addEventListener("change", draw);
  const call = h("button", { class: "ag-call", text: "Call tool", onclick: () => {
    const { value, errors } = current().read();
    const missing = (tools.find((t) => t.name === select.value)?.parameters?.required ?? []).filter((k) => !(value && k in value));
    const all = [...missing.map((k) => `${k} is required`), ...errors];
    problems.replaceChildren(...all.map((m) => h("div", { text: m })));
    if (all.length) return;
    send(model, { cmd: "call_tool", name: select.value, arguments: value ?? {} });
  } });
  const box = h("details", { class: "ag-toolbox" }, h("summary", { text: "Build a tool call" }), select, desc, fieldsBox, problems, call);
  const update = (st) => {
    const next = JSON.stringify(st.tools ?? []);
    box.hidden = !(st.tools ?? []).length;
    call.disabled = !!st.done;
    if (next === catalogue) return;  // the same tools: keep every form as the person left it
    catalogue = next;
    tools = st.tools ?? [];
    const keep = select.value;
    forms.clear();
    select.replaceChildren(...tools.map((t) => h("option", { value: t.name, text: t.name })));
    if (tools.some((t) => t.name === keep)) select.value = keep;
    if (tools.length) draw();
  };
  return { el: box, update };
}

function verdictBox(v) {
  const crit = Object.entries(v.criteria ?? {}).map(([k, x]) => `${k} ${fmt(x)}`).join(" · ");
  return h("div", { class: "ag-verdict ag-live" },
    h("div", { class: "ag-score", text: `judge: ${v.score === null || v.score === undefined ? "unscored" : fmt(v.score)}` + (crit ? ` (${crit})` : "") }),
    h("div", { class: "ag-reasoning", text: v.reasoning || v.error || "" }));
}

// The stepper is built once; each state change updates it in place: new messages are appended (and
// scrolled to), typed text, open forms and their fields, picked tags stay where the person left them.
function renderStepper(model, el) {
  const first = model.get("state") ?? {};
  const title = h("b");
  const over = h("span", { class: "ag-done" });
  const taskInput = h("input", { class: "ag-task", placeholder: "task id (empty: random)", list: "ag-tasks" });
  const seedInput = h("input", { class: "ag-seed", type: "number", value: first.seed ?? 0 });
  const reveal = h("input", { type: "checkbox", class: "ag-reveal", checked: first.goal !== null && first.goal !== undefined });
  const undo = h("button", { class: "ag-undo", text: "Undo", onclick: () => send(model, { cmd: "undo" }) });
  const controls = h("div", { class: "ag-controls" },
    taskInput, h("datalist", { id: "ag-tasks" }, (model.get("tasks") ?? []).map((t) => h("option", { value: t }))),
    seedInput, h("label", {}, reveal, " show goal"),
    h("button", { class: "ag-start", text: "New episode", onclick: () =>
      send(model, { cmd: "start", task_id: taskInput.value || null, seed: Number(seedInput.value || 0), reveal_goal: reveal.checked }) }),
    h("button", { class: "ag-restart", text: "Restart (same seed)", onclick: () => send(model, { cmd: "restart" }) }), undo);
  const alert = h("div", { class: "ag-alert", role: "alert" });
  const chat = h("div", { class: "ag-chat" });
  const box = h("textarea", { class: "ag-input", rows: 2, placeholder: "Message to the user, a JSON tool call, or [finish]" });
  let pending = null;  // the text sent and not yet answered: cleared from the box once its step is shown
  const sendBtn = h("button", { class: "ag-send", text: "Send", onclick: () => {
    if (!box.value.trim()) return;
    pending = { text: box.value, chat: (model.get("state")?.chat ?? []).length };
    send(model, { cmd: "send", text: box.value });
  } });
  box.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) sendBtn.click(); });
  const tools = toolForm(model);
  const reward = h("table", { class: "ag-reward" });
  const judgeBox = h("div", { class: "ag-judge" });
  const goalPre = h("pre", { class: "ag-goal" });
  const goalBox = h("details", { open: true, class: "ag-goalbox" }, h("summary", { text: "Hidden goal" }), goalPre);
  const episodeRate = ratingBar(model, null);
  const side = h("div", { class: "ag-side" }, h("h4", { text: "Reward" }), reward, judgeBox, goalBox,
    h("h4", { text: "Rate the episode" }), episodeRate.el);
  el.replaceChildren(h("div", { class: "ag-stepper" }, h("div", { class: "ag-head" }, title, over), controls, alert,
    h("div", { class: "ag-main" }, h("div", { class: "ag-left" }, chat, h("div", { class: "ag-compose" }, box, sendBtn), tools.el), side)));
  let bubbles = [];  // [{key, el, rate}]
  let episode = null;
  const update = () => {
    const st = model.get("state") ?? {};
    setText(title, `${st.env_id ?? ""} · task ${st.task_id ?? "-"} · seed ${st.seed ?? 0} · turn ${st.turn ?? 0}`);
    setText(over, st.done ? " · episode over" : "");
    undo.disabled = !st.can_undo;
    setText(alert, st.error ?? "");
    alert.hidden = !st.error;
    const messages = st.chat ?? [];
    if (st.episode_id !== episode) {  // a new, restarted or replayed (undo) episode: its own bubbles
      episode = st.episode_id;
      for (const b of bubbles) b.el.remove();
      bubbles = [];
    }
    let same = 0;
    const keyOf = (m) => JSON.stringify([m.idx, m.role, m.text, m.error ?? null, m.format ?? null]);
    while (same < bubbles.length && same < messages.length && bubbles[same].key === keyOf(messages[same])) same++;
    for (const b of bubbles.splice(same)) b.el.remove();
    for (const m of messages.slice(same)) {
      const bubble = h("div", { class: `ag-msg ag-${m.role}` + (m.error ? " ag-error" : ""), "data-idx": m.idx },
        h("div", { class: "ag-role", text: m.role + (m.format ? ` · ${m.format}` : "") }),
        h("div", { class: "ag-text", text: m.text }),
        m.error ? h("div", { class: "ag-errtext", text: m.error }) : null);
      if (m.verdict) bubble.append(verdictBox(m.verdict));
      const rate = m.role === "agent" ? ratingBar(model, m.idx) : null;
      if (rate) bubble.append(rate.el);
      chat.append(bubble);
      bubbles.push({ key: keyOf(m), el: bubble, rate });
    }
    for (const b of bubbles) b.rate?.update(st);
    if (messages.length > same) chat.scrollTop = chat.scrollHeight;  // the newest message in view
    if (pending && (st.error || messages.length > pending.chat || st.episode_id !== episode)) {
      if (!st.error && box.value === pending.text) box.value = "";
      pending = null;
    }
    sendBtn.disabled = !!st.done;
    tools.update(st);
    reward.replaceChildren(...Object.entries(st.reward ?? {}).map(([k, v]) => h("tr", {}, h("td", { text: k }), h("td", { text: fmt(v) }))));
    const judge = st.judge ?? {};
    judgeBox.hidden = !judge.configured;
    judgeBox.replaceChildren(...(judge.configured ? [h("h4", { text: "Judge" }), judge.episode_verdict ? verdictBox(judge.episode_verdict)
      : h("p", { text: judge.mode === "step" ? "Verdicts appear under each agent message." : "The judge scores the episode when it ends." })] : []));
    goalBox.hidden = !st.goal;
    setText(goalPre, (st.goal_lines ?? []).join("\n"));
    episodeRate.update(st);
  };
  update();
  return update;
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
  // an episode never ended (a stepper still open, a closed tab, an undone attempt) is labelled, not passed off as running
  const STATUS = { running: "unfinished", abandoned: "abandoned" };
  const rows = (st.episodes ?? []).map((e) => h("tr", {
    class: (e.id === st.open ? "on" : "") + (STATUS[e.status] ? " ag-abandoned" : ""),
    title: STATUS[e.status] ? "never ended: its stored steps replay, it has no outcome" : null,
    onclick: () => send(model, { cmd: "open", episode_id: e.id }) },
    ["agent", "version", "task_id", "status", "n_steps", "total_reward", "success", "run", "step", "ratings"].map((k) =>
      h("td", { text: k === "status" ? STATUS[e.status] ?? fmt(e[k]) : fmt(e[k]) }))));
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

const RENDERERS = { inspector: renderInspector, browser: renderBrowser };

function render({ model, el }) {
  const kind = model.get("kind");
  let draw;
  if (kind === "stepper") draw = renderStepper(model, el);
  else if (RENDERERS[kind]) { draw = () => RENDERERS[kind](model, el); draw(); }
  else { el.replaceChildren(h("div", { text: "unknown widget" })); return () => {}; }
  model.on("change:state", draw);
  return () => model.off("change:state", draw);
}

export default { render };
