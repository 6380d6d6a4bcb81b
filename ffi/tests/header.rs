//! The committed header is exactly what cbindgen writes from `src/`: the C contract cannot
//! drift from the code. After an intended ABI change, rewrite it with
//! `BLOCKVERIFY_BLESS_HEADER=1 cargo test -p blockverify-ffi --test header`.

use std::path::Path;

#[test]
fn the_committed_header_matches_the_code() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("ffi/cbindgen.toml parses");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads ffi/src");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = crate_dir.join("include/blockverify.h");
    if std::env::var_os("BLOCKVERIFY_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/blockverify.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).expect("include/blockverify.h is committed");
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(committed.lines().count().min(generated.lines().count()));
        panic!(
            "ffi/include/blockverify.h differs from what cbindgen writes from ffi/src \
             (first at line {}: committed {:?}, generated {:?}); after an intended ABI change \
             run BLOCKVERIFY_BLESS_HEADER=1 cargo test -p blockverify-ffi --test header",
            first + 1,
            committed.lines().nth(first),
            generated.lines().nth(first)
        );
    }
}
