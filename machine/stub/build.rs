//! Compiles `csrc/cm_stub.c` into one shared library per API flavour (Linux only).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=csrc/cm_stub.c");
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("csrc/cm_stub.c");
    let compiler = cc::Build::new().get_compiler();
    for api in [19, 20, 21] {
        let output = out_dir.join(format!("libcm_stub_v{api}.so"));
        let status = compiler
            .to_command()
            .args(["-std=c11", "-O1", "-fPIC", "-shared", "-fvisibility=hidden"])
            .args(["-Wall", "-Wextra", "-Werror", "-pthread"])
            .arg(format!("-DCM_STUB_API={api}"))
            .arg("-o")
            .arg(&output)
            .arg(&source)
            .status()
            .expect("the C compiler runs");
        assert!(
            status.success(),
            "compiling the libcartesi stub (v{api}) failed"
        );
        println!("cargo:rustc-env=CM_STUB_V{api}={}", output.display());
    }
}
