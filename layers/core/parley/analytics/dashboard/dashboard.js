// The analytics dashboard (GET /analytics): reads /v1/analytics with the token pasted above
// and draws it with Chart.js (served by the same router). Every value the API returns is put
// on the page with textContent or as chart data, never as HTML. The token stays in this tab's
// sessionStorage: it is gone when the tab is closed and is never sent but as a Bearer header.
// Its field is a password field: a dashboard is often shown on a shared screen.
"use strict";

(() => {
  const TOKEN_KEY = "parley.analytics.token";
  const DAYS_KEY = "parley.analytics.days";
  const NONE = "—";
  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2",
                   "#db2777", "#65a30d", "#64748b", "#ea580c"];
  const $ = (id) => document.getElementById(id);

  // -- formatting: any figure may be null (no calls, no feedback): shown as a dash --------

  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
  const format = {
    count: (v) => (isNumber(v) ? Math.round(v).toLocaleString("en-US") : NONE),
    ms: (v) => (isNumber(v) ? Math.round(v).toLocaleString("en-US") + " ms" : NONE),
    percent: (v) => (isNumber(v) ? v.toFixed(1) + "%" : NONE),
    usd: (v) => (isNumber(v) ? "$" + v.toFixed(Math.abs(v) >= 100 ? 2 : 4) : NONE),
    score: (v) => (isNumber(v) ? v.toFixed(1) : NONE), // quality scores are 0-100
    text: (v) => (v === null || v === undefined || v === "" ? NONE : String(v)),
  };
  // The recommender's confidence is 0-100 (parley.analytics.scores).
  const confidence = (v) => (isNumber(v) ? Math.round(v) + "%" : NONE);

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  // -- requests ---------------------------------------------------------------------------

  class Problem extends Error {}

  function describe(status, body) {
    const error = (body && body.error) || {};
    const said = error.message ? " " + error.message : "";
    if (status === 401) {
      return "The token was refused (401 " + (error.code || "unauthorized") + ")." + said +
        " Paste a valid token and load again.";
    }
    if (status === 403) {
      return "This token may not read analytics (403 " + (error.code || "forbidden") +
        "): it needs the analytics:view scope." + said;
    }
    return "The analytics API answered " + status + (error.code ? " " + error.code : "") +
      "." + said;
  }

  async function getJson(path) {
    const token = $("token").value.trim();
    if (!token) throw new Problem("Paste a token with the analytics:view scope, then Load.");
    let response;
    try {
      response = await fetch(path, { headers: { Authorization: "Bearer " + token } });
    } catch (error) {
      throw new Problem("Could not reach Parley: " + error.message);
    }
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    if (!response.ok) throw new Problem(describe(response.status, body));
    if (body === null) throw new Problem("The analytics API answered something that is not JSON.");
    return body;
  }

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = false;
  }

  function clearError() {
    $("error").textContent = "";
    $("error").hidden = true;
  }

  // -- summary cards ----------------------------------------------------------------------

  const CARDS = [
    ["totalCalls", "Calls", format.count],
    ["avgResponseTime", "Avg response", format.ms],
    ["p50", "p50 response", format.ms],
    ["p95", "p95 response", format.ms],
    ["p99", "p99 response", format.ms],
    ["successRate", "Success rate", format.percent],
    ["satisfactionRate", "Satisfaction", format.percent],
    ["avgTokens", "Avg tokens", format.count],
    ["totalCost", "Cost", format.usd],
    ["cacheHitRate", "Cache hit rate", format.percent],
  ];

  function renderCards(summary) {
    const cards = CARDS.map(([key, label, show]) => {
      const card = element("div", undefined, "card");
      card.dataset.metric = key;
      card.append(element("div", label, "label"), element("div", show(summary[key]), "value"));
      return card;
    });
    $("cards").replaceChildren(...cards);
  }

  // -- tables -----------------------------------------------------------------------------

  // columns: [value of a row, formatter, numeric?]
  function renderTable(id, rows, columns) {
    const body = $(id).tBodies[0];
    if (!rows.length) {
      const cell = element("td", "No data for these days.", "none");
      cell.colSpan = columns.length;
      const row = element("tr");
      row.append(cell);
      body.replaceChildren(row);
      return;
    }
    body.replaceChildren(...rows.map((item) => {
      const row = element("tr");
      for (const [value, show, numeric] of columns) {
        row.append(element("td", show(value(item)), numeric ? "num" : undefined));
      }
      return row;
    }));
  }

  // -- charts -----------------------------------------------------------------------------

  function configureCharts() {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 12;
    Chart.defaults.color = "#444";
    Chart.defaults.animation = false;
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.labels.boxWidth = 12;
  }

  function draw(id, config) {
    const canvas = $(id);
    const previous = Chart.getChart(canvas);
    if (previous) previous.destroy();
    const figure = canvas.closest("figure");
    const empty = !config.data.labels.length;
    let note = figure.querySelector(".empty");
    if (empty && !note) {
      note = element("p", "No data for these days.", "empty");
      figure.append(note);
    } else if (!empty && note) {
      note.remove();
    }
    return new Chart(canvas, config);
  }

  const tooltip = (show) => ({
    callbacks: { label: (item) => item.dataset.label + ": " + show(item.raw) },
  });

  function barChart(id, labels, datasets, show, max) {
    draw(id, {
      type: "bar",
      data: { labels, datasets },
      options: {
        plugins: { legend: { display: datasets.length > 1 }, tooltip: tooltip(show) },
        scales: { x: { grid: { display: false } }, y: { beginAtZero: true, max } },
      },
    });
  }

  function renderModels(byModel) {
    const labels = byModel.map((m) => m.model);
    barChart("chart-latency", labels, [
      { label: "Average", data: byModel.map((m) => m.avgResponseTime), backgroundColor: PALETTE[0] },
      { label: "p95", data: byModel.map((m) => m.p95), backgroundColor: "#93c5fd" },
    ], format.ms);
    barChart("chart-success", labels, [
      { label: "Success rate", data: byModel.map((m) => m.successRate),
        backgroundColor: PALETTE[1] },
    ], format.percent, 100);
    barChart("chart-satisfaction", labels, [
      { label: "Satisfaction", data: byModel.map((m) => m.satisfactionRate),
        backgroundColor: PALETTE[2] },
    ], format.percent, 100);
    renderTable("models-table", byModel, [
      [(m) => m.model, format.text],
      [(m) => m.provider, format.text],
      [(m) => m.totalCalls, format.count, true],
      [(m) => m.avgResponseTime, format.ms, true],
      [(m) => m.p50, format.ms, true],
      [(m) => m.p95, format.ms, true],
      [(m) => m.p99, format.ms, true],
      [(m) => m.successRate, format.percent, true],
      [(m) => m.satisfactionRate, format.percent, true],
      [(m) => m.feedbackCount, format.count, true],
      [(m) => m.avgTokens, format.count, true],
      [(m) => m.totalCost, format.usd, true],
      [(m) => m.cacheHitRate, format.percent, true],
    ]);
  }

  function renderTrends(trends) {
    const labels = trends.map((t) => t.day);
    draw("chart-trends", {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: "Calls", data: trends.map((t) => t.totalCalls), yAxisID: "calls",
            borderColor: PALETTE[0], backgroundColor: PALETTE[0], tension: 0.2 },
          { label: "Avg response (ms)", data: trends.map((t) => t.avgResponseTime), yAxisID: "ms",
            borderColor: PALETTE[2], backgroundColor: PALETTE[2], tension: 0.2 },
        ],
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          calls: { type: "linear", position: "left", beginAtZero: true,
                   title: { display: true, text: "calls" } },
          ms: { type: "linear", position: "right", beginAtZero: true,
                grid: { drawOnChartArea: false }, title: { display: true, text: "ms" } },
        },
      },
    });
    draw("chart-trend-rates", {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: "Success rate", data: trends.map((t) => t.successRate),
            borderColor: PALETTE[1], backgroundColor: PALETTE[1], tension: 0.2 },
          { label: "Satisfaction", data: trends.map((t) => t.satisfactionRate),
            borderColor: PALETTE[3], backgroundColor: PALETTE[3], tension: 0.2 },
        ],
      },
      options: {
        interaction: { mode: "index", intersect: false },
        plugins: { tooltip: tooltip(format.percent) },
        scales: { y: { beginAtZero: true, max: 100 } },
      },
    });
  }

  function renderTasks(byTaskType) {
    draw("chart-tasks", {
      type: "doughnut",
      data: {
        labels: byTaskType.map((t) => t.taskType),
        datasets: [{ label: "Calls", data: byTaskType.map((t) => t.totalCalls),
                     backgroundColor: byTaskType.map((_, i) => PALETTE[i % PALETTE.length]) }],
      },
      options: { plugins: { legend: { position: "right" } } },
    });
    renderTable("tasks-table", byTaskType, [
      [(t) => t.taskType, format.text],
      [(t) => t.totalCalls, format.count, true],
      [(t) => t.avgResponseTime, format.ms, true],
      [(t) => t.p95, format.ms, true],
      [(t) => t.successRate, format.percent, true],
      [(t) => t.satisfactionRate, format.percent, true],
      [(t) => t.totalCost, format.usd, true],
    ]);
  }

  function renderBest(bestByTask) {
    renderTable("best-table", bestByTask, [
      [(b) => b.taskType, format.text],
      [(b) => b.model, format.text],
      [(b) => b.provider, format.text],
      [(b) => b.qualityScore, format.score, true],
      [(b) => b.sampleSize, format.count, true],
    ]);
  }

  // -- the recommender --------------------------------------------------------------------

  function alternativeName(alternative) {
    if (typeof alternative === "string") return alternative;
    if (!alternative || typeof alternative !== "object") return NONE;
    return format.text(alternative.model) +
      (alternative.provider ? " (" + alternative.provider + ")" : "");
  }

  function recommendation(advice) {
    const article = element("article", undefined, "recommendation");
    article.dataset.taskType = format.text(advice.taskType);
    const title = element("h3", format.text(advice.taskType));
    title.append(element("span", format.text(advice.priority), "tag"),
                 element("span", advice.source === "data" ? "from data" : "from rules", "tag"));
    const choice = element("p");
    choice.append("Use ", element("strong", format.text(advice.model)),
                  " (" + format.text(advice.provider) + "), " +
                  confidence(advice.confidence) + " confident.");
    article.append(title, choice);
    if (advice.reason) article.append(element("p", String(advice.reason)));
    const m = advice.metrics || {};
    article.append(element("p", [
      "avg " + format.ms(m.avgResponseTime),
      "success " + format.percent(m.successRate),
      "satisfaction " + format.percent(m.satisfactionRate),
      "quality " + format.score(m.qualityScore),
      format.usd(m.costPerAnswer) + " per answer",
      format.count(m.sampleSize) + " calls",
    ].join(" · "), "muted"));
    const insights = Array.isArray(advice.insights) ? advice.insights : [];
    if (insights.length) {
      const list = element("ul");
      list.append(...insights.map((insight) => element("li", String(insight))));
      article.append(list);
    }
    const alternatives = Array.isArray(advice.alternatives) ? advice.alternatives : [];
    if (alternatives.length) {
      article.append(element("p", "Alternatives: " + alternatives.map(alternativeName).join(", "),
                             "muted"));
    }
    return article;
  }

  function renderAdvice(recommendations) {
    const advice = recommendations.map(recommendation);
    if (!advice.length) advice.push(element("p", "No advice for these days yet.", "muted"));
    $("advice").replaceChildren(...advice);
  }

  function renderAskChoices(data) {
    const select = $("ask-task");
    const previous = select.value;
    const taskTypes = new Set([
      ...data.byTaskType.map((t) => t.taskType),
      ...data.recommendations.map((r) => r.taskType),
      ...data.bestByTask.map((b) => b.taskType),
    ].filter((t) => typeof t === "string" && t));
    select.replaceChildren(new Option("all task types", ""),
                           ...[...taskTypes].sort().map((t) => new Option(t, t)));
    if (taskTypes.has(previous)) select.value = previous;
  }

  async function ask(event) {
    event.preventDefault();
    // The same days as the figures above; no task type pools them all.
    const query = new URLSearchParams({
      days: $("days").value,
      priority: $("ask-priority").value,
      task_type: $("ask-task").value,
    });
    $("answer").replaceChildren();
    try {
      const advice = await getJson("/v1/analytics/recommendations?" + query);
      $("answer").replaceChildren(recommendation(advice));
      clearError();
    } catch (error) {
      showError(error instanceof Problem ? error.message : "The page failed: " + error);
    }
  }

  // -- safety (GET /v1/analytics/safety) ----------------------------------------------------

  const SAFETY_CATEGORIES = [["suicide", "Suicide"], ["self_harm", "Self-harm"],
                             ["third_party", "Someone else"]];
  const SAFETY_CARDS = [
    ["decisions", "Judged by stage 2", (s) => s.decisions.total, format.count],
    ["safeReplies", "Safe replies", (s) => s.decisions.byAction.safe_reply, format.count],
    ["resources", "Resources given", (s) => s.decisions.byAction.resources, format.count],
    ["offline", "Decided offline", (s) => s.decisions.byStage.offline, format.count],
    ["classifierCalls", "Classifier calls", (s) => s.classifier.calls, format.count],
    ["classifierP95", "Classifier p95", (s) => s.classifier.p95, format.ms],
    ["failSafe", "Fail-safes", (s) => s.classifier.failSafe.total, format.count],
    ["failSafeRate", "Fail-safe rate", (s) => s.classifier.failSafeRate, format.percent],
    ["falsePositives", "False-positive reports", (s) => s.falsePositiveReports.total,
     format.count],
    ["falsePositiveRate", "Of judged safe replies", (s) => s.falsePositiveReports.rate,
     format.percent],
  ];

  function renderSafety(safety) {
    const cards = SAFETY_CARDS.map(([key, label, value, show]) => {
      const card = element("div", undefined, "card");
      card.dataset.safety = key;
      card.append(element("div", label, "label"), element("div", show(value(safety.summary)),
                                                           "value"));
      return card;
    });
    $("safety-cards").replaceChildren(...cards);
    const daily = list(safety.daily);
    const stack = { x: { stacked: true, grid: { display: false } },
                    y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } };
    draw("chart-safety", {
      type: "bar",
      data: {
        labels: daily.map((d) => d.day),
        datasets: SAFETY_CATEGORIES.map(([key, label], i) => ({
          label, data: daily.map((d) => d.hits.byCategory[key] || 0),
          backgroundColor: PALETTE[[3, 2, 0][i]],
        })),
      },
      options: { plugins: { tooltip: tooltip(format.count) }, scales: stack },
    });
    renderTable("safety-table", daily.filter((d) => d.decisions.total || d.classifier.calls), [
      [(d) => d.day, format.text],
      [(d) => d.decisions.total, format.count, true],
      [(d) => d.hits.total, format.count, true],
      [(d) => d.decisions.byStage.offline, format.count, true],
      [(d) => d.classifier.calls, format.count, true],
      [(d) => d.classifier.avgResponseTime, format.ms, true],
      [(d) => d.classifier.p95, format.ms, true],
      [(d) => d.classifier.failSafe.total, format.count, true],
      [(d) => d.falsePositiveReports.total, format.count, true],
    ]);
  }

  // -- loading ----------------------------------------------------------------------------

  const list = (value) => (Array.isArray(value) ? value : []);

  async function load(event) {
    if (event) event.preventDefault();
    const token = $("token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(DAYS_KEY, $("days").value);
    $("status").textContent = "loading…";
    $("load").disabled = true;
    $("dashboard").dataset.state = "loading";
    try {
      const days = encodeURIComponent($("days").value);
      // Both at once: the safety view reads the same days' rollups.
      const [body, safety] = await Promise.all([
        getJson("/v1/analytics/models?days=" + days),
        getJson("/v1/analytics/safety?days=" + days),
      ]);
      const data = {
        summary: body.summary || {},
        byModel: list(body.byModel),
        byTaskType: list(body.byTaskType),
        trends: list(body.trends),
        recommendations: list(body.recommendations),
        bestByTask: list(body.bestByTask),
      };
      clearError();
      $("dashboard").hidden = false; // before drawing: a hidden canvas has no size
      $("range").textContent = format.text(body.from) + " to " + format.text(body.to) + " (" +
        format.text(body.days) + " days, UTC)";
      renderCards(data.summary);
      renderModels(data.byModel);
      renderTrends(data.trends);
      renderTasks(data.byTaskType);
      renderBest(data.bestByTask);
      renderSafety(safety);
      renderAdvice(data.recommendations);
      renderAskChoices(data);
      $("status").textContent = "";
      $("dashboard").dataset.state = "ready";
    } catch (error) {
      $("dashboard").hidden = true;
      $("dashboard").dataset.state = "error";
      $("status").textContent = "";
      showError(error instanceof Problem ? error.message : "The page failed: " + error);
    } finally {
      $("load").disabled = false;
    }
  }

  function start() {
    configureCharts();
    $("token").value = sessionStorage.getItem(TOKEN_KEY) || "";
    const days = sessionStorage.getItem(DAYS_KEY);
    if (days && [...$("days").options].some((o) => o.value === days)) $("days").value = days;
    $("controls").addEventListener("submit", load);
    $("days").addEventListener("change", () => { if ($("token").value.trim()) load(); });
    $("ask").addEventListener("submit", ask);
    if ($("token").value.trim()) load();
  }

  start();
})();
