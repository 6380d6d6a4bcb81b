//! `bench --plot FILE.svg`: throughput against batch size, one line per engine, as an SVG chart
//! (log-log axes) an operator can open in any browser. Drawn with `plotters`' SVG backend,
//! which writes text as SVG `<text>` elements for the browser to render: no font files are
//! read and no system font library is linked.
#![forbid(unsafe_code)]

use plotters::coord::combinators::WithKeyPoints;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::CliError;

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

const WIDTH: u32 = 900;
/// Height of one panel's plotting area, about (its name and margins take some of it).
const PANEL_HEIGHT: u32 = 360;
/// Room left of the plotting area, for the throughput labels.
const LEFT: u32 = 90;
/// Room right of the plotting area, for the legend.
const RIGHT: u32 = 260;
/// Room above the chart (its title) and above each panel (the panel's name).
const TOP: u32 = 50;
/// Room below each panel, for the batch-size labels and the axis name.
const BOTTOM: u32 = 50;
/// One panel, top to bottom.
const PANEL: u32 = TOP + PANEL_HEIGHT + BOTTOM;
const COLOURS: [RGBColor; 8] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x17, 0xbe, 0xcf),
];
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
const FRAME: RGBColor = RGBColor(0x33, 0x33, 0x33);

/// Sans-serif text of `px` pixels. The SVG backend writes a font size of the style's size
/// divided by 1.24 (its estimate of a font's line height), so the style asks for 1.24 times
/// the size wanted on the page.
fn font(px: f64) -> TextStyle<'static> {
    ("sans-serif", px * 1.24).into_font().color(&BLACK)
}

/// Renders the points as one panel per `panel` value, stacked, with `title` on top.
pub fn svg(title: &str, points: &[Point]) -> Result<String, CliError> {
    let mut panels: Vec<&str> = Vec::new();
    for p in points {
        if !panels.contains(&p.panel.as_str()) {
            panels.push(&p.panel);
        }
    }
    let height = TOP + panels.len() as u32 * PANEL + 10;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            title.to_string(),
            (WIDTH as i32 / 2, 24),
            font(16.0).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        for (k, panel) in panels.iter().enumerate() {
            let area = root
                .clone()
                .shrink((0, TOP + k as u32 * PANEL), (WIDTH, PANEL));
            let pts: Vec<&Point> = points
                .iter()
                .filter(|p| p.panel == *panel && p.per_s > 0.0)
                .collect();
            draw_panel(&area, panel, &pts)?;
        }
        root.present()?;
    }
    Ok(out)
}

/// Powers of ten from the one at or below the smallest of `values` to the one at or above the
/// largest (at least two): the axis range and its grid lines.
fn decades(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| {
        (a.min(v.log10()), b.max(v.log10()))
    });
    let (lo, hi) = (
        lo.floor() as i32,
        (hi.ceil() as i32).max(lo.floor() as i32 + 1),
    );
    (lo..=hi).map(|d| 10f64.powi(d)).collect()
}

fn log_axis(decades: Vec<f64>) -> WithKeyPoints<LogCoord<f64>> {
    let (lo, hi) = (decades[0], decades[decades.len() - 1]);
    (lo..hi).log_scale().with_key_points(decades)
}

/// One panel in `area` (`PANEL` high): its name on top, the plotting area framed, decade
/// grid lines with labels, a line with dots per series, and the legend to the right.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    panel: &str,
    pts: &[&Point],
) -> Result<(), CliError>
where
    DB::ErrorType: 'static,
{
    if pts.is_empty() {
        return Ok(());
    }
    let (plot_side, legend) = area.split_horizontally(WIDTH - RIGHT);
    let mut chart = ChartBuilder::on(&plot_side)
        .caption(panel, font(14.0))
        .margin_top(10)
        .x_label_area_size(BOTTOM)
        .y_label_area_size(LEFT)
        .build_cartesian_2d(
            log_axis(decades(pts.iter().map(|p| p.batch as f64))),
            log_axis(decades(pts.iter().map(|p| p.per_s))),
        )?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(FRAME)
        .label_style(font(12.0))
        .axis_desc_style(font(12.0))
        .x_label_formatter(&|v| human(*v))
        .y_label_formatter(&|v| format!("{}/s", human(*v)))
        .x_desc("batch size (items)")
        .draw()?;
    // The frame's top and right sides (the mesh draws the other two as axes).
    let (x, y) = (chart.x_range(), chart.y_range());
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(x.start, y.end), (x.end, y.end), (x.end, y.start)],
        FRAME,
    )))?;

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
        chart.draw_series(
            LineSeries::new(
                line.iter().map(|p| (p.batch as f64, p.per_s)),
                colour.filled().stroke_width(2),
            )
            .point_size(3),
        )?;
        let label: String = if name.chars().count() > 34 {
            name.chars().take(33).chain(std::iter::once('…')).collect()
        } else {
            name.to_string()
        };
        let ly = 40 + 18 * i as i32;
        legend.draw(&PathElement::new(
            vec![(14, ly), (34, ly)],
            colour.stroke_width(3),
        ))?;
        legend.draw(&Text::new(
            label,
            (40, ly),
            font(12.0).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(series: &str, panel: &str, batch: usize, per_s: f64) -> Point {
        Point {
            series: series.into(),
            panel: panel.into(),
            batch,
            per_s,
        }
    }

    #[test]
    fn a_chart_has_a_line_per_series_and_panel_with_labels_as_text() {
        let points = vec![
            point("a & b", "sigs", 64, 1.5e5),
            point("a & b", "sigs", 4096, 2.0e6),
            point("c", "sigs", 64, 9.0e4),
            point("c", "sigs", 4096, 4.0e5),
            point("cpu", "merkle", 1024, 3.0e7),
            point("cpu", "merkle", 65_536, 9.0e7),
            point("dropped", "merkle", 1024, 0.0),
        ];
        let chart = svg("title <x>", &points).expect("drawn");
        assert!(chart.starts_with("<svg"), "{chart}");
        assert!(chart.trim_end().ends_with("</svg>"));
        assert!(chart.matches("<polyline").count() >= 3, "{chart}");
        // The SVG backend writes each text element's content on a line of its own.
        for text in [
            "title &lt;x&gt;",
            "sigs",
            "merkle",
            "a &amp; b",
            "batch size (items)",
            "1k",
            "100k/s",
            "10M/s",
        ] {
            assert!(chart.lines().any(|l| l == text), "{text} in {chart}");
        }
        assert!(!chart.contains("dropped"));
    }

    #[test]
    fn decades_span_the_values_and_at_least_one_decade() {
        assert_eq!(
            decades([64.0, 16_384.0].into_iter()),
            vec![10.0, 100.0, 1e3, 1e4, 1e5]
        );
        assert_eq!(decades([100.0].into_iter()), vec![100.0, 1e3]);
        assert_eq!(human(2.5e6), "2.5M");
        assert_eq!(human(1e3), "1k");
    }
}
