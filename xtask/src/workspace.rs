//! The workspace's packages as their manifests declare them, read through
//! `cargo metadata --no-deps` (cargo parses the `Cargo.toml` files; xtask needs no TOML
//! parser): names, whether they are published, and their dependencies.

use std::path::Path;

use serde_json::Value;

use crate::cmd;

/// One package of the workspace.
#[derive(Debug, Clone)]
pub(crate) struct Package {
    pub(crate) name: String,
    /// `false` for `publish = false` (or an empty registry list).
    pub(crate) publish: bool,
    pub(crate) dependencies: Vec<Dependency>,
}

/// One dependency of a package, as its manifest declares it.
#[derive(Debug, Clone)]
pub(crate) struct Dependency {
    /// The package depended on (its real name, not a `package =` rename).
    pub(crate) name: String,
    pub(crate) kind: DepKind,
    pub(crate) optional: bool,
}

/// The manifest section a dependency is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    Normal,
    Dev,
    Build,
}

impl DepKind {
    /// The section's name in `Cargo.toml`.
    pub(crate) fn section(self) -> &'static str {
        match self {
            DepKind::Normal => "dependencies",
            DepKind::Dev => "dev-dependencies",
            DepKind::Build => "build-dependencies",
        }
    }
}

impl Package {
    /// Its dependencies on other members of `workspace`.
    pub(crate) fn workspace_dependencies<'a>(
        &'a self,
        workspace: &'a [Package],
    ) -> impl Iterator<Item = &'a Dependency> + 'a {
        self.dependencies
            .iter()
            .filter(|d| workspace.iter().any(|p| p.name == d.name))
    }
}

/// The packages of the workspace whose root manifest is `<root>/Cargo.toml`.
pub(crate) fn packages(root: &Path) -> Result<Vec<Package>, String> {
    let manifest = root.join("Cargo.toml");
    let json = cmd::output(
        cmd::cargo_command(&[])
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--manifest-path",
            ])
            .arg(&manifest),
    )?;
    parse_metadata(&json)
}

/// The packages of `cargo metadata --format-version 1 --no-deps` output.
pub(crate) fn parse_metadata(json: &str) -> Result<Vec<Package>, String> {
    let metadata: Value =
        serde_json::from_str(json).map_err(|e| format!("cargo metadata: bad JSON: {e}"))?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` list")?;
    packages.iter().map(parse_package).collect()
}

fn parse_package(p: &Value) -> Result<Package, String> {
    let name = p["name"]
        .as_str()
        .ok_or("cargo metadata: a package without a name")?
        .to_owned();
    // `null`: publishable anywhere; a list: only to those registries (`[]` for `false`).
    let publish = p["publish"]
        .as_array()
        .is_none_or(|registries| !registries.is_empty());
    let dependencies = p["dependencies"]
        .as_array()
        .ok_or_else(|| format!("cargo metadata: {name} has no dependency list"))?
        .iter()
        .map(|d| {
            let dep_name = d["name"]
                .as_str()
                .ok_or_else(|| format!("cargo metadata: a dependency of {name} has no name"))?;
            let kind = match d["kind"].as_str() {
                None => DepKind::Normal,
                Some("dev") => DepKind::Dev,
                Some("build") => DepKind::Build,
                Some(other) => {
                    return Err(format!(
                        "cargo metadata: unknown dependency kind `{other}` in {name}"
                    ));
                }
            };
            Ok(Dependency {
                name: dep_name.to_owned(),
                kind,
                optional: d["optional"].as_bool().unwrap_or(false),
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Package {
        name,
        publish,
        dependencies,
    })
}

/// The publishable packages, each after every workspace package it depends on (normal
/// and build dependencies: the order `cargo publish` needs); ties in name order.
pub(crate) fn publish_order(workspace: &[Package]) -> Result<Vec<&Package>, String> {
    let mut left: Vec<&Package> = workspace.iter().filter(|p| p.publish).collect();
    left.sort_by(|a, b| a.name.cmp(&b.name));
    let mut order: Vec<&Package> = Vec::new();
    while !left.is_empty() {
        let ready = left.iter().position(|p| {
            p.workspace_dependencies(workspace)
                .filter(|d| d.kind != DepKind::Dev && d.name != p.name)
                .all(|d| order.iter().any(|done| done.name == d.name))
        });
        match ready {
            Some(i) => order.push(left.remove(i)),
            None => {
                let names: Vec<&str> = left.iter().map(|p| p.name.as_str()).collect();
                return Err(format!(
                    "no publish order: {} depend on each other or on an unpublished package",
                    names.join(", ")
                ));
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trimmed `cargo metadata` answer: the fields xtask reads, among others it ignores.
    const METADATA: &str = r#"{"packages":[
      {"name":"facade","version":"0.1.0","publish":null,"manifest_path":"/w/crates/facade/Cargo.toml",
       "dependencies":[
         {"name":"core-crate","kind":null,"optional":false,"rename":null,"path":"/w/crates/core-crate"},
         {"name":"leaf","kind":null,"optional":false,"path":"/w/crates/leaf"},
         {"name":"allocator-api2","rename":"allocator-api2-02","kind":null,"optional":true}]},
      {"name":"leaf","publish":null,"manifest_path":"/w/crates/leaf/Cargo.toml",
       "dependencies":[
         {"name":"core-crate","kind":null,"optional":false},
         {"name":"tool","kind":"dev","optional":false},
         {"name":"cc","kind":"build","optional":false}]},
      {"name":"tool","publish":[],"manifest_path":"/w/tool/Cargo.toml","dependencies":[]},
      {"name":"core-crate","publish":null,"manifest_path":"/w/crates/core-crate/Cargo.toml",
       "dependencies":[]}
    ],"workspace_members":[],"target_directory":"/w/target","version":1}"#;

    #[test]
    fn metadata_is_read_by_field_not_by_position() {
        let packages = parse_metadata(METADATA).unwrap();
        let names: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["facade", "leaf", "tool", "core-crate"]);
        let publish: Vec<bool> = packages.iter().map(|p| p.publish).collect();
        assert_eq!(publish, [true, true, false, true]);
        let facade = &packages[0].dependencies;
        assert_eq!(
            facade[2].name, "allocator-api2",
            "the real name, not the rename"
        );
        assert!(facade[2].optional && !facade[0].optional);
        let kinds: Vec<DepKind> = packages[1].dependencies.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, [DepKind::Normal, DepKind::Dev, DepKind::Build]);
        let in_workspace: Vec<&str> = packages[0]
            .workspace_dependencies(&packages)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(in_workspace, ["core-crate", "leaf"]);
    }

    #[test]
    fn bad_metadata_is_an_error_not_a_panic() {
        assert!(parse_metadata("not json").is_err());
        assert!(parse_metadata(r#"{"packages":[{"publish":null}]}"#).is_err());
        let odd_kind = r#"{"packages":[{"name":"a","manifest_path":"/a/Cargo.toml",
            "dependencies":[{"name":"b","kind":"weird"}]}]}"#;
        assert!(parse_metadata(odd_kind).unwrap_err().contains("weird"));
    }

    #[test]
    fn publish_order_puts_dependencies_first_and_skips_unpublished() {
        let packages = parse_metadata(METADATA).unwrap();
        let order: Vec<&str> = publish_order(&packages)
            .unwrap()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(order, ["core-crate", "leaf", "facade"]);
        // A cycle (or a dependency on an unpublished package) has no order.
        let mut cyclic = packages.clone();
        cyclic[3].dependencies.push(Dependency {
            name: "facade".into(),
            kind: DepKind::Normal,
            optional: false,
        });
        let err = publish_order(&cyclic).unwrap_err();
        assert!(
            err.contains("core-crate") && err.contains("facade"),
            "{err}"
        );
    }
}
