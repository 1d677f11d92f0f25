//! Charts drawn on the server as inline SVG (coverage, census reports): no script, no
//! dependency, readable on a phone and by a screen reader.
//!
//! Every chart is a standalone `<svg role="img">` labelled by its `<title>` and a `<desc>` that
//! states every value in words; it scales through its `viewBox`; colours come from CSS classes
//! (`bar`, `seg-<name>`, `axis`, `value`, ...) and every bar or segment also carries its value as
//! visible text, so colour is never the only signal. All text is XML-escaped. Input without a
//! positive finite value draws a "No data" chart rather than NaN widths.

use std::fmt::Write as _;

/// Width of every chart in SVG units (the `viewBox`; the page sets the displayed size).
const WIDTH: f64 = 640.0;
/// Left column for bar labels.
const LABEL_W: f64 = 200.0;
/// Room right of the longest bar for its value.
const VALUE_W: f64 = 90.0;
/// The longest bar.
const BAR_AREA: f64 = WIDTH - LABEL_W - VALUE_W - 10.0;
/// Height of one bar's row.
const ROW_H: f64 = 28.0;
/// Height of the title band.
const TITLE_H: f64 = 32.0;
/// Longest label drawn before it is shortened with `…` (the `<desc>` keeps it whole).
const LABEL_CHARS: usize = 28;

/// Escape text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A number as people read it: whole numbers without decimals, others with one.
fn number(v: f64) -> String {
    if !v.is_finite() {
        return "no value".to_owned();
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A value with its unit (`12 teams`, `75%`).
fn with_unit(v: f64, unit: &str) -> String {
    let n = number(v);
    if unit.is_empty() || !v.is_finite() {
        n
    } else if unit.starts_with('%') {
        format!("{n}{unit}")
    } else {
        format!("{n} {unit}")
    }
}

/// A coordinate or length with at most two decimals.
fn coord(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A label shortened for the drawing.
fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
        s.push('…');
        s
    }
}

/// Only `[a-z0-9-]` in a CSS class; anything else becomes `-`.
fn css_class(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "seg".to_owned()
    } else {
        cleaned
    }
}

/// A stable id for the chart's title and description, from what it shows (FNV-1a), so two
/// charts on one page do not share ids.
fn chart_id(kind: &str, title: &str, desc: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain(title.bytes()).chain(desc.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("chart-{h:016x}")
}

/// The opening of a chart: `<svg>`, `<title>` and `<desc>`.
fn open(kind: &str, title: &str, desc: &str, height: f64) -> String {
    let id = chart_id(kind, title, desc);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" viewBox="0 0 {w} {h}" preserveAspectRatio="xMinYMin meet" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{t}</title><desc id="{id}-desc">{d}</desc><text class="chart-title" x="0" y="20">{t}</text>"#,
        w = coord(WIDTH),
        h = coord(height),
        t = xml_escape(title),
        d = xml_escape(desc),
    );
    s
}

/// A chart that says there is nothing to show.
fn no_data(kind: &str, title: &str) -> String {
    let mut s = open(kind, title, "No data.", TITLE_H + 40.0);
    let _ = write!(
        s,
        r#"<text class="no-data" x="{x}" y="{y}" text-anchor="middle">No data</text></svg>"#,
        x = coord(WIDTH / 2.0),
        y = coord(TITLE_H + 24.0),
    );
    s
}

/// The value a bar is drawn at: negative and non-finite values draw no bar (their text still
/// says what they are).
fn drawable(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 { v } else { 0.0 }
}

/// Horizontal bars, one row per `(label, value)`, each with its value and `unit` as text at its
/// end, over an axis from 0 to the largest value. Negative or non-finite values draw no bar.
pub fn bar_chart(title: &str, bars: &[(String, f64)], unit: &str) -> String {
    let max = bars.iter().map(|(_, v)| drawable(*v)).fold(0.0, f64::max);
    if max <= 0.0 {
        return no_data("bar", title);
    }
    let desc = bars
        .iter()
        .map(|(l, v)| format!("{l}: {}", with_unit(*v, unit)))
        .collect::<Vec<_>>()
        .join("; ");
    let axis_y = TITLE_H + ROW_H * bars.len() as f64 + 4.0;
    let height = axis_y + 24.0;
    let mut s = open("bar", title, &format!("{desc}."), height);
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = TITLE_H + ROW_H * i as f64;
        let w = drawable(*value) / max * BAR_AREA;
        let _ = write!(
            s,
            r#"<g class="row"><text class="label" x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect class="bar" x="{bx}" y="{by}" width="{w}" height="{bh}"><title>{full}: {val}</title></rect><text class="value" x="{vx}" y="{ty}">{val}</text></g>"#,
            lx = coord(LABEL_W - 8.0),
            ty = coord(y + ROW_H / 2.0 + 5.0),
            label = xml_escape(&short(label)),
            full = xml_escape(label),
            bx = coord(LABEL_W),
            by = coord(y + 4.0),
            w = coord(w),
            bh = coord(ROW_H - 8.0),
            vx = coord(LABEL_W + w + 6.0),
            val = xml_escape(&with_unit(*value, unit)),
        );
    }
    let _ = write!(
        s,
        r#"<g class="axis"><line x1="{x0}" y1="{top}" x2="{x0}" y2="{ay}"/><line x1="{x0}" y1="{ay}" x2="{x1}" y2="{ay}"/><text x="{x0}" y="{ty}" text-anchor="middle">0</text><text x="{x1}" y="{ty}" text-anchor="middle">{max}</text></g></svg>"#,
        x0 = coord(LABEL_W),
        x1 = coord(LABEL_W + BAR_AREA),
        top = coord(TITLE_H),
        ay = coord(axis_y),
        ty = coord(axis_y + 16.0),
        max = xml_escape(&with_unit(max, unit)),
    );
    s
}

/// One bar split into segments `(label, value, css class)` in proportion to their share of the
/// total (a segment's class becomes `seg-<class>`), with a legend that gives every segment's
/// value and percentage as text. Negative or non-finite values count as nothing.
pub fn stacked_bar(title: &str, segments: &[(String, f64, &str)]) -> String {
    let total: f64 = segments.iter().map(|(_, v, _)| drawable(*v)).sum();
    if total <= 0.0 {
        return no_data("stacked", title);
    }
    let share = |v: f64| drawable(v) / total * 100.0;
    let desc = segments
        .iter()
        .map(|(l, v, _)| format!("{l}: {} ({}%)", number(*v), number(share(*v).round())))
        .collect::<Vec<_>>()
        .join("; ");
    let bar_y = TITLE_H + 4.0;
    let bar_h = 32.0;
    let legend_y = bar_y + bar_h + 12.0;
    let height = legend_y + ROW_H * segments.len() as f64 + 4.0;
    let mut s = open("stacked", title, &format!("{desc}."), height);
    let full_w = WIDTH - 2.0;
    let mut x = 1.0;
    for (label, value, class) in segments {
        let w = drawable(*value) / total * full_w;
        let text = format!("{}: {}", label, number(*value));
        let _ = write!(
            s,
            r#"<rect class="seg seg-{class}" x="{x}" y="{y}" width="{w}" height="{h}"><title>{text}</title></rect>"#,
            class = css_class(class),
            x = coord(x),
            y = coord(bar_y),
            w = coord(w),
            h = coord(bar_h),
            text = xml_escape(&text),
        );
        x += w;
    }
    for (i, (label, value, class)) in segments.iter().enumerate() {
        let y = legend_y + ROW_H * i as f64;
        let _ = write!(
            s,
            r#"<g class="legend"><rect class="seg seg-{class}" x="0" y="{sy}" width="14" height="14"/><text class="value" x="22" y="{ty}">{label}: {val} ({pct}%)</text></g>"#,
            class = css_class(class),
            sy = coord(y + 4.0),
            ty = coord(y + 16.0),
            label = xml_escape(label),
            val = xml_escape(&number(*value)),
            pct = number(share(*value).round()),
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical columns, one per `(label, count)` (SIM3 maturity bands 0–4, for instance), each
/// with its count written above it.
pub fn histogram(title: &str, columns: &[(String, f64)], unit: &str) -> String {
    let max = columns
        .iter()
        .map(|(_, v)| drawable(*v))
        .fold(0.0, f64::max);
    if max <= 0.0 {
        return no_data("histogram", title);
    }
    let desc = columns
        .iter()
        .map(|(l, v)| format!("{l}: {}", with_unit(*v, unit)))
        .collect::<Vec<_>>()
        .join("; ");
    let plot_top = TITLE_H + 24.0;
    let plot_h = 160.0;
    let base = plot_top + plot_h;
    let height = base + 30.0;
    let slot = (WIDTH - 20.0) / columns.len() as f64;
    let col_w = slot * 0.7;
    let mut s = open("histogram", title, &format!("{desc}."), height);
    for (i, (label, value)) in columns.iter().enumerate() {
        let h = drawable(*value) / max * plot_h;
        let cx = 10.0 + slot * i as f64 + slot / 2.0;
        let _ = write!(
            s,
            r#"<g class="column"><rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}"><title>{full}: {val}</title></rect><text class="value" x="{cx}" y="{vy}" text-anchor="middle">{val}</text><text class="label" x="{cx}" y="{ly}" text-anchor="middle">{label}</text></g>"#,
            x = coord(cx - col_w / 2.0),
            y = coord(base - h),
            w = coord(col_w),
            h = coord(h),
            cx = coord(cx),
            vy = coord(base - h - 6.0),
            ly = coord(base + 18.0),
            label = xml_escape(&short(label)),
            full = xml_escape(label),
            val = xml_escape(&with_unit(*value, unit)),
        );
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="10" y1="{b}" x2="{x2}" y2="{b}"/></svg>"#,
        b = coord(base),
        x2 = coord(WIDTH - 10.0),
    );
    s
}

/// One line of a [`line_chart`]: its label and its `(x, y)` points in x order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// What the line is (a node, a measure); shown in the legend and the description.
    pub label: String,
    /// The points in x order; a point whose y is not finite breaks the line (a gap, such as a
    /// process that was not running).
    pub points: Vec<(f64, f64)>,
}

/// Left margin of a line chart, for the y axis's values.
const PLOT_LEFT: f64 = 70.0;
/// Height of a line chart's plot.
const PLOT_H: f64 = 220.0;
/// Top of a line chart's plot (room above it for the y axis's highest value).
const PLOT_TOP: f64 = TITLE_H + 16.0;

/// Lines over a shared x axis (time, for instance), one per [`Series`], over axes from the
/// smallest to the largest x and from 0 to the largest y. Each line is a `polyline` of class
/// `line series-<n>` (`n` its index modulo 10) carrying its label as a tooltip; the legend under
/// the plot gives every series' label, last and highest value as text, and the description
/// states them in words. Only finite points are drawn.
pub fn line_chart(title: &str, x_unit: &str, y_unit: &str, series: &[Series]) -> String {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().filter(finite).copied())
        .collect();
    let x_min = all.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x_max = all.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let y_max = all.iter().map(|p| p.1).fold(0.0, f64::max);
    if all.is_empty() || y_max <= 0.0 {
        return no_data("line", title);
    }
    let x_span = if x_max > x_min { x_max - x_min } else { 1.0 };
    let plot_w = WIDTH - PLOT_LEFT - 10.0;
    let top = PLOT_TOP;
    let base = top + PLOT_H;
    let legend_y = base + 34.0;
    let height = legend_y + 20.0 * series.len() as f64 + 4.0;
    let summary = |s: &Series| {
        let points: Vec<&(f64, f64)> = s.points.iter().filter(finite).collect();
        let last = points.last().map_or(f64::NAN, |p| p.1);
        let high = points.iter().map(|p| p.1).fold(f64::NAN, f64::max);
        (last, high)
    };
    let desc = series
        .iter()
        .map(|s| {
            let (last, high) = summary(s);
            format!(
                "{}: last {}, highest {}",
                s.label,
                with_unit(last, y_unit),
                with_unit(high, y_unit)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let desc = format!(
        "From {} to {}. {desc}.",
        with_unit(x_min, x_unit),
        with_unit(x_max, x_unit)
    );
    let mut s = open("line", title, &desc, height);
    let px = |x: f64| PLOT_LEFT + (x - x_min) / x_span * plot_w;
    let py = |y: f64| base - y.max(0.0) / y_max * PLOT_H;
    for (i, line) in series.iter().enumerate() {
        // Runs of finite points, each its own polyline.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for p in &line.points {
            if p.0.is_finite() && p.1.is_finite() {
                if let Some(run) = runs.last_mut() {
                    run.push(*p);
                }
            } else if runs.last().is_some_and(|r| !r.is_empty()) {
                runs.push(Vec::new());
            }
        }
        for run in runs.iter().filter(|r| !r.is_empty()) {
            let points = run
                .iter()
                .map(|(x, y)| format!("{},{}", coord(px(*x)), coord(py(*y))))
                .collect::<Vec<_>>()
                .join(" ");
            let _ = write!(
                s,
                r#"<polyline class="line series-{n}" fill="none" points="{points}"><title>{label}</title></polyline>"#,
                n = i % 10,
                label = xml_escape(&line.label),
            );
        }
    }
    let _ = write!(
        s,
        r#"<g class="axis"><line x1="{x0}" y1="{top}" x2="{x0}" y2="{b}"/><line x1="{x0}" y1="{b}" x2="{x1}" y2="{b}"/><text x="{yx}" y="{b}" text-anchor="end">0</text><text x="{x0}" y="{ty}" text-anchor="start">{ymax}</text><text x="{x0}" y="{xt}" text-anchor="start">{xmin}</text><text x="{x1}" y="{xt}" text-anchor="end">{xmax}</text></g>"#,
        x0 = coord(PLOT_LEFT),
        x1 = coord(PLOT_LEFT + plot_w),
        top = coord(top),
        b = coord(base),
        yx = coord(PLOT_LEFT - 6.0),
        ty = coord(top - 4.0),
        xt = coord(base + 18.0),
        ymax = xml_escape(&with_unit(y_max, y_unit)),
        xmin = xml_escape(&with_unit(x_min, x_unit)),
        xmax = xml_escape(&with_unit(x_max, x_unit)),
    );
    for (i, line) in series.iter().enumerate() {
        let (last, high) = summary(line);
        let y = legend_y + 20.0 * i as f64;
        let _ = write!(
            s,
            r#"<g class="legend"><line class="line series-{n}" x1="0" y1="{ly}" x2="24" y2="{ly}"/><text class="value" x="32" y="{ty}">{label}: last {last}, highest {high}</text></g>"#,
            n = i % 10,
            ly = coord(y + 10.0),
            ty = coord(y + 14.0),
            label = xml_escape(&line.label),
            last = xml_escape(&with_unit(last, y_unit)),
            high = xml_escape(&with_unit(high, y_unit)),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn bars(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
        pairs.iter().map(|(l, v)| ((*l).to_owned(), *v)).collect()
    }

    /// The numeric `attr` of every element whose opening tag contains `marker`.
    fn attr_of(svg: &str, marker: &str, attr: &str) -> Vec<f64> {
        svg.split('<')
            .filter(|tag| tag.contains(marker))
            .filter_map(|tag| {
                let start = tag.find(&format!(" {attr}=\""))? + attr.len() + 3;
                let rest = tag.get(start..)?;
                rest.get(..rest.find('"')?)?.parse().ok()
            })
            .collect()
    }

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains("viewBox=\"0 0 640 "));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        let id = svg.split("aria-labelledby=\"").nth(1).unwrap();
        let id = id.split('"').next().unwrap();
        for part in id.split(' ') {
            assert!(
                svg.contains(&format!("id=\"{part}\"")),
                "{part} is labelled"
            );
        }
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<title id=").count(), 1);
        assert_eq!(svg.matches("<desc").count(), 1);
        // Every opened group closes.
        assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
    }

    #[test]
    fn bar_widths_are_proportional_and_every_bar_says_its_value() {
        let svg = bar_chart(
            "Teams per type",
            &bars(&[("National", 20.0), ("Sectoral", 10.0), ("Private", 5.0)]),
            "teams",
        );
        well_formed(&svg);
        let widths = attr_of(&svg, "class=\"bar\"", "width");
        assert_eq!(widths.len(), 3);
        assert!(
            (widths[0] - BAR_AREA).abs() < 0.01,
            "the largest bar fills the area"
        );
        assert!((widths[1] - widths[0] / 2.0).abs() < 0.01);
        assert!((widths[2] - widths[0] / 4.0).abs() < 0.01);
        for text in [">20 teams</text>", ">10 teams</text>", ">5 teams</text>"] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(svg.contains("<desc id="));
        assert!(svg.contains("National: 20 teams; Sectoral: 10 teams; Private: 5 teams."));
        assert!(svg.contains("class=\"axis\""));
        let pct = bar_chart("Response rate", &bars(&[("CL", 75.0), ("BR", 12.5)]), "%");
        assert!(pct.contains(">75%</text>") && pct.contains(">12.5%</text>"));
    }

    #[test]
    fn text_is_escaped() {
        let svg = bar_chart(
            "<script>alert(1)</script> & \"co\"",
            &bars(&[("<script>x</script>", 3.0), ("O'Higgins", 1.0)]),
            "<b>",
        );
        well_formed(&svg);
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;"));
        assert!(svg.contains("O&#39;Higgins"));
        let stacked = stacked_bar("s", &[("<img src=x>".into(), 1.0, "full\" onload=\"x")]);
        assert!(
            !stacked.contains("<img") && !stacked.contains("onload=\""),
            "{stacked}"
        );
        assert!(stacked.contains("class=\"seg seg-full--onload--x\""));
        let hist = histogram("h", &bars(&[("<i>", 1.0)]), "");
        assert!(!hist.contains("<i>"));
    }

    #[test]
    fn nothing_to_draw_says_no_data() {
        let nan = bars(&[("a", f64::NAN), ("b", -3.0), ("c", 0.0)]);
        for svg in [
            bar_chart("Empty", &[], "teams"),
            bar_chart("Zero", &bars(&[("a", 0.0), ("b", 0.0)]), ""),
            bar_chart("Bad", &nan, ""),
            stacked_bar("Empty", &[]),
            stacked_bar(
                "Bad",
                &[("a".into(), f64::NAN, "x"), ("b".into(), -1.0, "y")],
            ),
            histogram("Empty", &[], ""),
            histogram("Zero", &bars(&[("0", 0.0)]), ""),
        ] {
            well_formed(&svg);
            assert!(svg.contains(">No data</text>"), "{svg}");
            assert!(svg.contains("No data.</desc>"));
            assert!(!svg.contains("class=\"bar\"") && !svg.contains("class=\"seg"));
        }
    }

    #[test]
    fn negative_and_missing_values_draw_no_bar_but_say_so() {
        let svg = bar_chart(
            "Mixed",
            &bars(&[
                ("ok", 4.0),
                ("neg", -2.0),
                ("missing", f64::NAN),
                ("huge", f64::INFINITY),
            ]),
            "",
        );
        well_formed(&svg);
        let widths = attr_of(&svg, "class=\"bar\"", "width");
        assert_eq!(widths, [BAR_AREA, 0.0, 0.0, 0.0]);
        assert!(svg.contains(">-2</text>"));
        assert!(svg.contains(">no value</text>"));
    }

    #[test]
    fn stacked_segments_share_the_width_and_the_legend_gives_numbers() {
        let svg = stacked_bar(
            "Member states by coverage",
            &[
                ("Full".into(), 10.0, "full"),
                ("Partial".into(), 15.0, "partial"),
                ("None".into(), 0.0, "none"),
                ("Contact only".into(), 10.0, "contact-only"),
            ],
        );
        well_formed(&svg);
        // The bar's segments are 32 high; the legend's swatches 14.
        let widths: Vec<f64> = attr_of(&svg, "height=\"32\"", "width");
        assert_eq!(widths.len(), 4, "one drawn segment per input");
        let total: f64 = widths.iter().sum();
        assert!((total - (WIDTH - 2.0)).abs() < 0.05);
        assert!((widths[1] / widths[0] - 1.5).abs() < 0.01);
        assert_eq!(widths[2], 0.0);
        let xs = attr_of(&svg, "height=\"32\"", "x");
        assert!(
            (xs[3] - (1.0 + widths[0] + widths[1])).abs() < 0.05,
            "segments abut"
        );
        for text in [
            "Full: 10 (29%)",
            "Partial: 15 (43%)",
            "None: 0 (0%)",
            "Contact only: 10 (29%)",
        ] {
            assert!(svg.contains(&format!(">{text}</text>")), "{text}");
        }
        assert!(svg.contains("class=\"seg seg-contact-only\""));
    }

    #[test]
    fn histogram_heights_are_proportional() {
        let svg = histogram(
            "SIM3 maturity",
            &bars(&[("0", 0.0), ("1", 2.0), ("2", 4.0), ("3", 1.0), ("4", 0.0)]),
            "teams",
        );
        well_formed(&svg);
        let heights = attr_of(&svg, "class=\"bar\"", "height");
        assert_eq!(heights, [0.0, 80.0, 160.0, 40.0, 0.0]);
        assert!(svg.contains(">4 teams</text>"));
    }

    #[test]
    fn two_charts_on_a_page_have_different_ids() {
        let a = bar_chart("A", &bars(&[("x", 1.0)]), "");
        let b = bar_chart("B", &bars(&[("x", 1.0)]), "");
        let id = |s: &str| {
            s.split("<title id=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        };
        assert_ne!(id(&a), id(&b));
    }

    #[test]
    fn long_labels_are_shortened_in_the_drawing_only() {
        let long = "Ministry of Information and Communications Technology";
        let svg = bar_chart("t", &bars(&[(long, 1.0)]), "");
        assert!(svg.contains(&format!(">{}</text>", short(long))));
        assert!(short(long).ends_with('…'));
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
        assert!(svg.contains(&format!("{long}: 1.</desc>")));
    }

    #[test]
    fn lines_span_the_plot_and_gaps_break_them() {
        let svg = line_chart(
            "RSS <per node>",
            "s",
            "MB",
            &[
                Series {
                    label: "cl-csirt".into(),
                    points: vec![
                        (0.0, 10.0),
                        (5.0, 20.0),
                        (10.0, f64::NAN),
                        (15.0, 40.0),
                        (20.0, 40.0),
                    ],
                },
                Series {
                    label: "mx-csirt".into(),
                    points: vec![(0.0, 0.0), (20.0, 10.0)],
                },
            ],
        );
        well_formed(&svg);
        assert_eq!(
            svg.matches("<polyline").count(),
            3,
            "the gap splits cl-csirt's line"
        );
        let plot_w = WIDTH - PLOT_LEFT - 10.0;
        let top = PLOT_TOP;
        let base = top + PLOT_H;
        // The first point is at the left and a quarter of the height (10 of 40).
        let first = format!(
            "points=\"{},{} ",
            coord(PLOT_LEFT),
            coord(base - PLOT_H / 4.0)
        );
        assert!(svg.contains(&first), "{svg}");
        // mx-csirt ends at the right edge.
        assert!(svg.contains(&format!(
            "{},{}\"",
            coord(PLOT_LEFT + plot_w),
            coord(base - PLOT_H / 4.0)
        )));
        assert!(svg.contains(">cl-csirt: last 40 MB, highest 40 MB</text>"));
        assert!(svg.contains("From 0 s to 20 s. cl-csirt: last 40 MB, highest 40 MB; mx-csirt: last 10 MB, highest 10 MB."));
        assert!(svg.contains("RSS &lt;per node&gt;") && !svg.contains("<per node>"));
        assert!(svg.contains("class=\"line series-1\""));
    }

    #[test]
    fn a_line_chart_without_values_says_no_data() {
        for series in [
            vec![],
            vec![Series {
                label: "a".into(),
                points: vec![],
            }],
            vec![Series {
                label: "a".into(),
                points: vec![(0.0, f64::NAN), (1.0, 0.0)],
            }],
        ] {
            let svg = line_chart("Empty", "s", "MB", &series);
            well_formed(&svg);
            assert!(svg.contains(">No data</text>"), "{svg}");
            assert!(!svg.contains("<polyline"));
        }
    }
}
