// Live list: poll the records feed with a cursor and prepend new rows.
// No libraries; every value is inserted as text, never as markup.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("live-config").textContent);
  var text = config.text;
  var cursor = config.cursor || 0;
  var rows = document.getElementById("live-rows");

  function t(key) { return text[key] || key; }
  function label(prefix, value) {
    if (value === null || value === undefined) { return t("unknown"); }
    return text[prefix + value] || value;
  }
  function kg(value) { return value === null || value === undefined ? "" : value.toLocaleString("en-US"); }
  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content !== undefined && content !== null) { node.textContent = String(content); }
    return node;
  }
  function cell(className) { return el("td", className); }

  function plate(textValue, color) {
    var chip = el("span", "plate plate-" + color, textValue);
    chip.title = label("color_", color);
    return chip;
  }

  function stationCell(item) {
    var td = cell();
    td.appendChild(el("span", "unit", item.unit_name || item.station_name));
    if (item.unit_name) { td.appendChild(el("span", "muted", item.station_name)); td.appendChild(document.createTextNode(" ")); }
    if (item.station_name !== item.station_code) { td.appendChild(el("span", "muted code", item.station_code)); }
    if (!item.station_registered) {
      td.appendChild(document.createTextNode(" "));
      td.appendChild(el("span", "badge badge-warn", t("unregistered")));
    }
    return td;
  }

  function platesCell(item) {
    var td = cell();
    if (!item.front_plate && !item.rear_plate) { td.appendChild(el("span", "muted", t("none"))); return td; }
    if (item.front_plate) { td.appendChild(plate(item.front_plate, item.front_plate_color)); }
    if (item.rear_plate && item.rear_plate !== item.front_plate) { td.appendChild(plate(item.rear_plate, item.rear_plate_color)); }
    return td;
  }

  function verdictCell(item) {
    var td = cell();
    if (item.overloaded) { td.appendChild(el("span", "badge badge-over", t("overloaded"))); }
    else { td.appendChild(el("span", "badge badge-ok", t("not_overloaded"))); }
    td.appendChild(el("span", "verdict", label("verdict_", item.verdict)));
    return td;
  }

  function numCell(value) { return el("td", "num", value); }

  function row(item) {
    var tr = el("tr", "pass fresh" + (item.overloaded ? " over" : ""));
    tr.dataset.cursor = item.cursor;
    tr.dataset.recordId = item.record_id;
    var time = cell("time");
    var link = el("a", null, item.detected_at_local);
    link.href = item.url;
    time.appendChild(link);
    tr.appendChild(time);
    tr.appendChild(stationCell(item));
    tr.appendChild(numCell(item.lane_no));
    tr.appendChild(platesCell(item));
    tr.appendChild(numCell(item.axles === null ? "—" : item.axles));
    tr.appendChild(numCell(kg(item.gross_kg)));
    tr.appendChild(numCell(kg(item.limit_kg)));
    tr.appendChild(numCell(item.over_kg ? kg(item.over_kg) + " / " + item.over_rate_pct.toFixed(2) + "%" : "—"));
    tr.appendChild(verdictCell(item));
    return tr;
  }

  function apply(answer) {
    var items = answer.records || [];
    for (var i = items.length - 1; i >= 0; i--) {
      if (rows.querySelector('tr[data-record-id="' + items[i].record_id + '"]')) { continue; }
      rows.insertBefore(row(items[i]), rows.firstChild);
    }
    while (rows.children.length > config.limit) { rows.removeChild(rows.lastChild); }
    if (answer.cursor !== null && answer.cursor !== undefined) { cursor = Math.max(cursor, answer.cursor); }
    document.getElementById("count-passes").textContent = answer.today.passes;
    document.getElementById("count-overloaded").textContent = answer.today.overloaded;
    if (answer.alarms !== undefined) {
      document.getElementById("count-alarms").textContent = answer.alarms;
    }
    document.getElementById("live-empty").hidden = rows.children.length > 0;
  }

  function poll() {
    fetch("/api/v1/records?after=" + cursor + "&limit=" + config.limit, { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) { if (answer) { apply(answer); } })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, config.interval); });
  }

  window.setTimeout(poll, config.interval);
})();
