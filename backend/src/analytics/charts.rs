//! Server-rendered SVG charts (charts-rs). Pages receive the SVG as a string and insert it as
//! is, so the server render and the hydrated page are byte-identical; the same strings are the
//! downloadable `.svg` files. Values are drawn as `f32` (a chart has no cents to lose); the
//! tables beside every chart carry the exact figures.

use charts_rs::{BarChart, Color, LineChart, Series};

/// Colours of the series in tier order (lowest rank first): bronze, silver, gold, then more.
const PALETTE: &[&str] = &["#b87333", "#8a97a8", "#d4a017", "#2f6f4f", "#5b5fc7", "#c0504d"];
const FONT: &str = "Roboto";

fn colours(n: usize) -> Vec<Color> {
    (0..n).map(|i| Color::from(PALETTE[i % PALETTE.len()])).collect()
}

/// The SVG with a font stack that viewers without Roboto (the font charts-rs measures text
/// with) render in a sans-serif rather than their serif default.
fn or_empty(svg: charts_rs::Result<String>) -> String {
    match svg {
        Ok(s) => s.replace("font-family=\"Roboto\"", "font-family=\"Roboto, Inter, 'Segoe UI', Helvetica, Arial, sans-serif\""),
        Err(e) => {
            tracing::warn!(error = %e, "chart failed to render");
            String::new()
        }
    }
}

/// Short label of a week: `"Nov 16"` from `"2026-11-16"`.
pub fn week_label(week_start: &str) -> String {
    chrono::NaiveDate::parse_from_str(week_start, "%Y-%m-%d").map(|d| d.format("%b %-d").to_string()).unwrap_or_else(|_| week_start.to_string())
}

/// Grouped bars: one series per tier, one group per week.
pub fn cohort_bars(title: &str, weeks: &[String], tiers: &[(String, Vec<f32>)]) -> String {
    let series: Vec<Series> = tiers.iter().map(|(name, data)| Series::new(name.clone(), data.clone())).collect();
    let mut c = BarChart::new_with_theme(series, weeks.iter().map(|w| week_label(w)).collect(), "light");
    c.width = 760.0;
    c.height = 340.0;
    c.font_family = FONT.into();
    c.title.text = title.into();
    c.series.colors = colours(tiers.len());
    c.radius = Some(2.0);
    c.y_axis_configs[0].width = Some(64.0);
    or_empty(c.svg())
}

/// One or more lines over the same x labels.
pub fn lines(title: &str, labels: &[String], series: &[(String, Vec<f32>)], colour_offset: usize) -> String {
    let list: Vec<Series> = series.iter().map(|(name, data)| Series::new(name.clone(), data.clone())).collect();
    let mut c = LineChart::new_with_theme(list, labels.to_vec(), "light");
    c.width = 760.0;
    c.height = 300.0;
    c.font_family = FONT.into();
    c.title.text = title.into();
    c.series.colors = (0..series.len()).map(|i| Color::from(PALETTE[(i + colour_offset) % PALETTE.len()])).collect();
    c.series.smooth = true;
    c.series.fill = true;
    c.y_axis_configs[0].width = Some(64.0);
    or_empty(c.svg())
}

/// Simple bars, one per category, each in its tier colour.
pub fn bars(title: &str, categories: &[String], values: &[f32]) -> String {
    let series: Vec<Series> = categories
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut data = vec![None; categories.len()];
            data[i] = Some(values[i]);
            let mut s = Series::new_nullable(name.clone(), data);
            s.label_show = true;
            s.stack = Some("mix".into());
            s
        })
        .collect();
    let mut c = BarChart::new_with_theme(series, categories.to_vec(), "light");
    c.width = 360.0;
    c.height = 300.0;
    c.font_family = FONT.into();
    c.title.text = title.into();
    c.series.colors = colours(categories.len());
    c.legend.show = Some(false);
    c.y_axis_configs[0].width = Some(40.0);
    or_empty(c.svg())
}
