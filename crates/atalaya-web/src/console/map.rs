//! The map of the Americas: one shape per OAS member state, projected from Natural Earth
//! (public domain, via the npm `world-atlas` package) by `tools/americas-map/gen.mjs` into
//! `assets/americas-map.json`, which is embedded here.

use std::sync::LazyLock;

use serde::Deserialize;

/// One member state's shape.
#[derive(Debug, Clone, Deserialize)]
pub struct Shape {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    /// English name.
    pub name: String,
    /// SVG path.
    pub d: String,
    /// Where the label or marker goes.
    pub label: [f64; 2],
    /// Too small to see: drawn with a marker as well.
    pub small: bool,
}

impl Shape {
    /// Label point, x.
    pub fn x(&self) -> f64 {
        self.label[0]
    }

    /// Label point, y.
    pub fn y(&self) -> f64 {
        self.label[1]
    }
}

/// The map data.
#[derive(Debug, Clone, Deserialize)]
pub struct MapData {
    /// Credit.
    pub source: String,
    /// Width and height of the view box.
    pub view_box: [u32; 2],
    /// The shapes.
    pub countries: Vec<Shape>,
}

/// The embedded map (an empty map if the embedded file were ever unreadable, which a test
/// rules out).
pub static MAP: LazyLock<MapData> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../assets/americas-map.json")).unwrap_or(MapData {
        source: String::new(),
        view_box: [1000, 1000],
        countries: Vec::new(),
    })
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_map_has_every_member_state() {
        assert_eq!(MAP.countries.len(), 35);
        assert!(MAP.source.contains("Natural Earth"));
    }
}
