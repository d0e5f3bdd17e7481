// The page is built from what the server describes: one section per model it serves, a version
// selector per model, and the chosen version's request fields as inputs, with the type, range,
// choices and default of the describe call (GET /models/<model>/<version>?customized=true; the
// gateway, scripts/gateway.py, passes it on as it passes POST /predictions/...). The JSON is the one
// tsclient/schema.py reads. The key arrives in the URL fragment, which the browser never sends
// anywhere:  http://127.0.0.1:8090/#key=<inference key>
"use strict";

const key = new URLSearchParams(location.hash.slice(1)).get("key");
const STREAM_FIELD = "stream";
const TYPE_WORDS = { string: "a string", integer: "an integer", number: "a number", boolean: "a boolean",
                     array: "a list" };

class RefusedError extends Error {}

async function call(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...options.headers, Authorization: `Bearer ${key}` } });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const error = await response.json();
      message = error.field ? `${error.error} (${error.field}: ${error.allowed})`
        : (error.error || error.message || message);
    } catch (_) { /* not JSON */ }
    throw new RefusedError(message);
  }
  return response;
}

async function management(path) { return (await call(path)).json(); }

async function describe(model, version) {
  const [description] = await management(`/models/${model}/${version}?customized=true`);
  const metadata = description.customizedMetadata;  // TorchServe passes it decoded, or as JSON text
  return typeof metadata === "string" ? JSON.parse(metadata) : metadata;
}

function predict(model, version, body) {
  return call(`/predictions/${model}/${version}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
}

// A field in words, as tsclient/schema.py says it: "an integer in 1..500", "one of sample, greedy".
function allowed(field) {
  if (field.choices) return `one of ${field.choices.join(", ")}`;
  let text = TYPE_WORDS[field.type] || field.type;
  if (field.bounds) text += ` in ${field.bounds[0]}..${field.bounds[1]}`;
  if (field.max_length != null) {
    text += ` of at most ${field.max_length} ${field.type === "array" ? "items" : "characters"}`;
  }
  if (field.items) text += `, each ${allowed(field.items)}`;
  return text;
}

function defaultWords(field) {
  if (field.required) return "required";
  return field.default == null ? "optional" : `default ${field.default}`;
}

function withinLimits(field, value) {
  if (field.type === "integer" && !Number.isInteger(value)) return false;
  if (typeof value === "number" && !Number.isFinite(value)) return false;
  if (field.bounds && !(field.bounds[0] <= value && value <= field.bounds[1])) return false;
  if (field.max_length != null && value.length > field.max_length) return false;
  return !field.items || value.every((item) => withinLimits(field.items, item));
}

function takesImage(schema) { return schema.request.content === "image"; }

// A sampler that edits pictures has an `image` field (base64) and a `mask`: the page gives them a
// picture chooser and a mask painted over the picture, not text inputs.
const PICTURE_FIELDS = ["image", "mask"];

function editsPictures(schema) { return !takesImage(schema) && "image" in schema.request.fields; }

function streams(schema) { return STREAM_FIELD in schema.request.fields; }

function element(tag, { dataset = {}, ...properties } = {}, ...children) {
  const made = Object.assign(document.createElement(tag), properties);
  Object.assign(made.dataset, dataset);
  made.append(...children);
  return made;
}

function part(section, role) { return section.querySelector(`[data-role=${role}]`); }

function png(base64) { return `data:image/png;base64,${base64}`; }

// One input for a field: a select for choices, a checkbox for a boolean, a number input with the
// field's range, or text (a list: comma-separated). Left empty, the server's default applies.
function fieldInput(name, field) {
  let input;
  if (field.choices) {
    input = element("select");
    if (field.default == null) input.append(new Option(field.required ? "choose" : "(none)", ""));
    for (const choice of field.choices) {
      input.append(new Option(choice, choice, choice === field.default, choice === field.default));
    }
  } else if (field.type === "boolean") {
    input = element("input", { type: "checkbox", checked: field.default === true });
  } else if (field.type === "integer" || field.type === "number") {
    input = element("input", { type: "number", step: field.type === "integer" ? "1" : "any",
                               placeholder: field.default == null ? "optional" : String(field.default) });
    if (field.bounds) [input.min, input.max] = field.bounds.map(String);
  } else {
    input = element("input", { type: "text", placeholder: field.type === "array" ? "comma-separated" : "" });
  }
  Object.assign(input, { name, required: Boolean(field.required),
                         title: `${allowed(field)} (${defaultWords(field)})` });
  const range = field.bounds ? `${field.bounds[0]}..${field.bounds[1]}, ` : "";
  return element("label", {}, name.replaceAll("_", " "), input, element("small", {}, range + defaultWords(field)));
}

// The filled-in fields as a request body, each checked against its limits first (`skipped`: those
// the page fills in otherwise).
function requestBody(form, fields, skipped = []) {
  const body = {};
  for (const [name, field] of Object.entries(fields)) {
    if (skipped.includes(name)) continue;
    const input = form.elements.namedItem(name);  // not form.elements[name]: a field may be called "length"
    if (!input) continue;
    if (field.type === "boolean") {
      body[name] = input.checked;
      continue;
    }
    const text = input.value.trim();
    if (text === "") continue;
    const value = field.choices ? field.choices.find((choice) => String(choice) === text)
      : field.type === "integer" || field.type === "number" ? Number(text)
        : field.type === "array" ? text.split(",").map((item) => item.trim()).filter(Boolean) : input.value;
    if (!withinLimits(field, value)) throw new RefusedError(`${name}: ${text} is not ${allowed(field)}`);
    body[name] = value;
  }
  return body;
}

// The weights' summary the describe call carries: size, training time and the headline figures.
function about(schema) {
  const { parameters, training_seconds: seconds, metrics } = schema.weights || {};
  const parts = [`version ${schema.version}`];
  if (typeof parameters === "number") parts.push(`${parameters.toLocaleString("en")} parameters`);
  if (seconds) {
    parts.push(`trained in ${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds).toLocaleString("en")} s`);
  }
  for (const [name, value] of Object.entries(metrics || {})) {
    if (typeof value === "number") parts.push(`${name.replaceAll("_", " ")} ${Number(value.toPrecision(4))}`);
  }
  return parts.join(" · ");
}

// The answer, shown by its kind: text, a vector, neighbours, class probabilities, images, else JSON.
function answerView(answer, model, explore) {
  if ("generated_text" in answer) {
    return [element("p", { className: "output", textContent: answer.generated_text, dataset: { role: "text" } })];
  }
  if ("vector" in answer) return vectorView(answer);
  if (Array.isArray(answer.results) && answer.results.every((item) => "token" in item)) {
    const list = element("ol", { className: "neighbours", dataset: { role: "neighbours" } });
    for (const { token, score } of answer.results) {
      const link = element("button", { type: "button", textContent: token });
      link.addEventListener("click", () => explore(token));
      list.append(element("li", {}, link, ` ${score.toFixed(3)}`));
    }
    return [list];
  }
  if (Array.isArray(answer.results)) return answer.results.flatMap(vectorView);
  if ("pred_label" in answer) {
    return [element("div", { className: "bars", dataset: { role: "bars" } }, ...answer.top_k.map(({ label, prob }) =>
      element("div", {}, element("span", { className: "label", textContent: label }),
              element("span", { className: "bar", style: `width: ${(prob * 20).toFixed(2)}rem` }),
              element("span", { className: "prob", textContent: `${(prob * 100).toFixed(1)}%` }))))];
  }
  if (answer.image_base64_png) {
    const source = png(answer.image_base64_png);
    return [element("img", { src: source, alt: "the answer's images", dataset: { role: "result" } }),
            element("a", { href: source, download: `${model}.png`, textContent: "Download PNG",
                           dataset: { role: "download" } })];
  }
  if (answer.images_base64_png) {
    return [element("div", { className: "images", dataset: { role: "result" } },
      ...answer.images_base64_png.map((image, i) => element("img", { src: png(image), alt: `sample ${i}` })))];
  }
  return [element("pre", { className: "output", textContent: JSON.stringify(answer, null, 2) })];
}

// A vector's norm, and its values as a strip of colour (red above zero, blue below).
function vectorView(answer) {
  if (!answer.vector) {
    return [element("p", { textContent: `“${answer.word}” has no vector`, dataset: { role: "norm" } })];
  }
  const norm = Math.hypot(...answer.vector).toFixed(3);
  const canvas = element("canvas", { width: answer.vector.length, height: 1, className: "vector" });
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(answer.vector.length, 1);
  const scale = Math.max(...answer.vector.map(Math.abs)) || 1;
  answer.vector.forEach((value, i) => {
    const fade = 255 * (1 - Math.abs(value) / scale);
    pixels.data.set(value >= 0 ? [255, fade, fade, 255] : [fade, fade, 255, 255], 4 * i);
  });
  context.putImageData(pixels, 0, 0);
  const words = `“${answer.word}”: ${answer.vector.length}-d vector, norm ${norm}`;
  return [element("p", { textContent: words, dataset: { role: "norm" } }), canvas];
}

// The picture to edit and the mask painted on it, white where the sampler is to generate. The mask
// is painted at PAINTED_SIZE pixels (the server resizes it to the sampler's 32x32); until a stroke
// is painted there is none, and the request is image-to-image.
const PAINTED_SIZE = 256;
const BRUSH_RADIUS = 20;

function pictureEditor(fields) {
  const file = element("input", { type: "file", accept: "image/*", dataset: { role: "edit-picture" },
                                  title: `the picture to edit (${allowed(fields.image)}: its file, sent as base64)` });
  const shown = element("canvas", { width: PAINTED_SIZE, height: PAINTED_SIZE, className: "painter",
                                    title: "paint the region to generate" });
  const strokes = element("canvas", { width: PAINTED_SIZE, height: PAINTED_SIZE });  // white on transparent
  const clear = element("button", { type: "button", textContent: "Clear mask" });
  const painter = element("div", { className: "painter", hidden: true, dataset: { role: "painter" } }, shown,
                          element("small", { textContent: "paint where to generate (inpainting); no paint: image-to-image" }),
                          clear);
  const editor = { picture: null, image: new Image(), painted: false };

  const redraw = () => {
    const context = shown.getContext("2d");
    context.clearRect(0, 0, PAINTED_SIZE, PAINTED_SIZE);
    context.drawImage(editor.image, 0, 0, PAINTED_SIZE, PAINTED_SIZE);
    context.globalAlpha = 0.6;
    context.drawImage(strokes, 0, 0);
    context.globalAlpha = 1;
  };
  const maskPng = () => {  // black where the picture stays, the strokes white
    const mask = element("canvas", { width: PAINTED_SIZE, height: PAINTED_SIZE });
    const context = mask.getContext("2d");
    context.fillStyle = "black";
    context.fillRect(0, 0, PAINTED_SIZE, PAINTED_SIZE);
    context.drawImage(strokes, 0, 0);
    return mask.toDataURL("image/png");
  };
  const paint = (event) => {
    if (!(event.buttons & 1)) return;
    const box = shown.getBoundingClientRect();
    const context = strokes.getContext("2d");
    context.fillStyle = "white";
    context.beginPath();
    context.arc((event.clientX - box.left) * PAINTED_SIZE / box.width, (event.clientY - box.top) * PAINTED_SIZE / box.height,
                BRUSH_RADIUS, 0, 2 * Math.PI);
    context.fill();
    editor.painted = true;
    redraw();
  };
  shown.addEventListener("pointerdown", paint);
  shown.addEventListener("pointermove", paint);
  clear.addEventListener("click", () => {
    strokes.getContext("2d").clearRect(0, 0, PAINTED_SIZE, PAINTED_SIZE);
    editor.painted = false;
    redraw();
  });
  file.addEventListener("change", async () => {
    if (!file.files[0]) return;
    editor.picture = await readAsDataUrl(file.files[0]);
    editor.image.onload = redraw;
    editor.image.src = editor.picture;
    painter.hidden = false;
  });
  // The body's picture fields: the picture, and the mask once a stroke is painted.
  editor.fields = () => (!editor.picture ? {} : {
    image: base64Of(editor.picture), ...(editor.painted ? { mask: base64Of(maskPng()) } : {}) });
  return { elements: [element("label", {}, "picture to edit", file,
                              element("small", {}, "optional: image-to-image, or inpainting where painted")),
                      painter], editor };
}

function base64Of(dataUrl) { return dataUrl.slice(dataUrl.indexOf(",") + 1); }

// A sampler's stream (newline-delimited JSON): progress, 8 previews, then the result.
async function showStream(section, response, show) {
  const progress = section.querySelector("progress");
  const status = part(section, "status");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const message = JSON.parse(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      if (message.type === "progress" || message.type === "preview") {
        progress.max = message.steps;
        progress.value = message.step;
        status.textContent = `step ${message.step} of ${message.steps}`;
      }
      if (message.type === "preview") {
        const preview = element("img", { src: png(message.image_base64_png), alt: `step ${message.step}` });
        part(section, "previews").append(preview);
      } else if (message.type === "result") {
        show(message);
        status.textContent = summary(message);
      } else if (message.type === "error") {
        throw new RefusedError(message.error);
      }
    }
  }
}

// What a sampler's answer says of the request: its samples and seed, labels, guidance and strength.
function summary(answer) {
  const parts = [`done: ${answer.num_samples} samples, seed ${answer.seed}`];
  if (answer.labels) parts.push(`labels ${[...new Set(answer.labels)].join(", ")}`);
  if (answer.guidance != null) parts.push(`guidance ${answer.guidance}`);
  if (answer.strength != null) parts.push(`strength ${answer.strength}`);
  return parts.join(", ");
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// A model's section: its versions, then the chosen version's form, rebuilt when the version changes.
async function buildSection(model) {
  const section = document.getElementById("model-section").content.firstElementChild.cloneNode(true);
  section.id = model;
  part(section, "name").textContent = model;
  document.querySelector("main").append(section);
  document.getElementById("models").append(element("a", { href: `#${model}`, textContent: model }));
  const form = section.querySelector("form");
  const alert = section.querySelector("[role=alert]");
  const picture = part(section, "picture");
  const state = { schema: null, image: null, editor: null };

  const show = (answer) => part(section, "answer").replaceChildren(...answerView(answer, model, explore));
  const button = form.querySelector("button");
  const run = async () => {
    alert.textContent = "";
    button.disabled = true;
    try {
      const body = state.editor
        ? { ...requestBody(form, state.schema.request.fields, PICTURE_FIELDS), ...state.editor.fields() }
        : requestBody(form, state.schema.request.fields);
      if (takesImage(state.schema)) {
        if (!state.image) return;
        body.image = base64Of(state.image);
      }
      if (!streams(state.schema)) {
        show(await (await predict(model, state.schema.version, body)).json());
        return;
      }
      part(section, "previews").replaceChildren();
      part(section, "answer").replaceChildren();
      part(section, "status").textContent = "starting";
      section.querySelector("progress").value = 0;
      await showStream(section, await predict(model, state.schema.version, { ...body, [STREAM_FIELD]: true }), show);
    } catch (error) {
      alert.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  };
  // A word of the answer clicked: the first text field takes it, and the model runs again.
  const explore = (word) => {
    form.querySelector("input[type=text]").value = word;
    run();
  };
  const load = async (version) => {
    state.schema = await describe(model, version);
    const fields = part(section, "fields");
    const typed = [...fields.querySelectorAll("input:not([type=checkbox])")].filter((input) => input.value !== "");
    const edits = editsPictures(state.schema);
    const editor = edits ? pictureEditor(state.schema.request.fields) : null;
    state.editor = editor && editor.editor;
    fields.replaceChildren(...Object.entries(state.schema.request.fields)
      .filter(([name]) => name !== STREAM_FIELD && !(edits && PICTURE_FIELDS.includes(name)))
      .map(([name, field]) => fieldInput(name, field)), ...(editor ? editor.elements : []));
    for (const input of typed) {  // what was typed stays, where the version has that field too
      const same = form.elements.namedItem(input.name);
      if (same) same.value = input.value;
    }
    part(section, "about").textContent = about(state.schema);
    part(section, "drop").hidden = !takesImage(state.schema);
    part(section, "progress").hidden = !streams(state.schema);
    form.dataset.version = state.schema.version;
  };
  const useImage = async (file) => {
    if (!file) return;
    state.image = picture.src = await readAsDataUrl(file);
    picture.hidden = false;
    run();
  };

  try {
    const [versions, [served]] = await Promise.all([management(`/models/${model}/all`),
                                                   management(`/models/${model}`)]);
    const byDefault = served.modelVersion;  // /models/<model> describes the default version
    form.elements.version.append(...versions.map(({ modelVersion: version }) => new Option(
      version === byDefault ? `${version} (default)` : version, version, false, version === byDefault)));
    await load(byDefault);
  } catch (error) {
    alert.textContent = error.message;
    return;
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  form.elements.version.addEventListener("change", async () => {
    await load(form.elements.version.value);
    if (state.image) run();
  });
  const drop = part(section, "drop");
  form.elements.image.addEventListener("change", () => useImage(form.elements.image.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    useImage(event.dataTransfer.files[0]);
  });
}

async function buildPage() {
  const connection = document.getElementById("connection");
  if (!key) return;
  try {
    const { models } = await management("/models");
    connection.textContent = "Key in hand: every model below is live.";
    // Each section fills in on its own: a model whose worker is busy sampling does not hold up the others.
    for (const { modelName } of models) buildSection(modelName);
  } catch (error) {
    connection.textContent = `The server refused the page (${error.message}): run make ui again for a fresh address.`;
  }
}

buildPage();
