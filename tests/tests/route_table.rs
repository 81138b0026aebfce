//! The project's own route table holds exactly the facts of the published one.

use scopegate_core::{operations, Scope};
use scopegate_tests::shared_dir;

#[test]
fn route_table_equals_routes_tsv_row_for_row() {
    let tsv = std::fs::read_to_string(shared_dir().join("bitbucket/routes.tsv"))
        .expect("shared/bitbucket/routes.tsv beside the checkout");
    let mut lines = tsv.lines();
    assert_eq!(lines.next(), Some("method\tpath\tscopes"));
    let published: Vec<(String, String, Vec<String>)> = lines
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "{line}");
            let mut scopes: Vec<String> = cols[2]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            scopes.sort();
            (cols[0].to_owned(), cols[1].to_owned(), scopes)
        })
        .collect();
    let ours: Vec<(String, String, Vec<String>)> = operations()
        .iter()
        .map(|op| {
            (
                op.method.as_str().to_owned(),
                op.path.to_owned(),
                op.required_scopes
                    .iter()
                    .map(|s| Scope::as_str(s).to_owned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(published.len(), 331);
    assert_eq!(ours.len(), published.len());
    for (i, (a, b)) in ours.iter().zip(&published).enumerate() {
        assert_eq!(a, b, "row {}", i + 1);
    }
}
