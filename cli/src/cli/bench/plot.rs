//! `bench --plot FILE.svg`: throughput against batch size, one line per engine, as a plain SVG
//! (log-log axes) an operator can open in any browser. No plotting dependency: the chart is a
//! few polylines, written out here.
#![forbid(unsafe_code)]

use std::fmt::Write as _;

/// One measured point: `per_s` items per second at batch size `batch`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Point {
    /// Which engine (a line of the chart).
    pub series: String,
    /// Which chart: signatures or Merkle leaves.
    pub panel: String,
    /// Items per batch.
    pub batch: usize,
    /// Items per second.
    pub per_s: f64,
}

const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 360.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 260.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the points as one panel per `panel` value, stacked, with `title` on top.
pub fn svg(title: &str, points: &[Point]) -> String {
    let mut panels: Vec<&str> = Vec::new();
    for p in points {
        if !panels.contains(&p.panel.as_str()) {
            panels.push(&p.panel);
        }
    }
    let height = TOP + panels.len() as f64 * (PANEL_HEIGHT + BOTTOM + TOP) + 10.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="24" font-size="16" text-anchor="middle">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    for (k, panel) in panels.iter().enumerate() {
        let y0 = TOP + k as f64 * (PANEL_HEIGHT + BOTTOM + TOP);
        let pts: Vec<&Point> = points
            .iter()
            .filter(|p| p.panel == *panel && p.per_s > 0.0)
            .collect();
        draw_panel(&mut out, panel, &pts, y0);
    }
    out.push_str("</svg>\n");
    out
}

fn draw_panel(out: &mut String, panel: &str, pts: &[&Point], y0: f64) {
    if pts.is_empty() {
        return;
    }
    let lg = |v: f64| v.log10();
    let (xmin, xmax) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(lg(p.batch as f64)), b.max(lg(p.batch as f64)))
    });
    let (ymin, ymax) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(lg(p.per_s)), b.max(lg(p.per_s)))
    });
    let (xmin, xmax) = (xmin.floor(), xmax.ceil().max(xmin.floor() + 1.0));
    let (ymin, ymax) = (ymin.floor(), ymax.ceil().max(ymin.floor() + 1.0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |b: f64| LEFT + (lg(b) - xmin) / (xmax - xmin) * plot_w;
    let y = |v: f64| y0 + PANEL_HEIGHT - (lg(v) - ymin) / (ymax - ymin) * PANEL_HEIGHT;

    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" font-size="14" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        y0 - 8.0,
        escape(panel)
    );
    // Axes and decade grid lines.
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{y0}" width="{plot_w}" height="{PANEL_HEIGHT}" fill="none" stroke="#333"/>"##
    );
    let mut d = xmin;
    while d <= xmax + 1e-9 {
        let px = LEFT + (d - xmin) / (xmax - xmin) * plot_w;
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{}" stroke="#ddd"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
            y0 + PANEL_HEIGHT,
            y0 + PANEL_HEIGHT + 16.0,
            human(10f64.powf(d))
        );
        d += 1.0;
    }
    let mut d = ymin;
    while d <= ymax + 1e-9 {
        let py = y0 + PANEL_HEIGHT - (d - ymin) / (ymax - ymin) * PANEL_HEIGHT;
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{}" y2="{py:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}/s</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            py + 4.0,
            human(10f64.powf(d))
        );
        d += 1.0;
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">batch size (items)</text>"#,
        LEFT + plot_w / 2.0,
        y0 + PANEL_HEIGHT + 34.0
    );

    let mut series: Vec<&str> = Vec::new();
    for p in pts {
        if !series.contains(&p.series.as_str()) {
            series.push(&p.series);
        }
    }
    for (i, name) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut line: Vec<&&Point> = pts.iter().filter(|p| p.series == *name).collect();
        line.sort_by_key(|p| p.batch);
        let coords: Vec<String> = line
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.batch as f64), y(p.per_s)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            coords.join(" ")
        );
        for c in &coords {
            let (cx, cy) = c.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(
                out,
                r#"<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>"#
            );
        }
        let label: String = if name.chars().count() > 34 {
            name.chars().take(33).chain(std::iter::once('…')).collect()
        } else {
            name.to_string()
        };
        let ly = y0 + 14.0 + 18.0 * i as f64;
        let lx = LEFT + plot_w + 14.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            escape(&label)
        );
    }
}

/// 1000 → "1k", 2500000 → "2.5M".
fn human(v: f64) -> String {
    let (div, unit) = if v >= 1e9 {
        (1e9, "G")
    } else if v >= 1e6 {
        (1e6, "M")
    } else if v >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let x = v / div;
    if (x - x.round()).abs() < 1e-6 {
        format!("{}{unit}", x.round())
    } else {
        format!("{x:.1}{unit}")
    }
}
