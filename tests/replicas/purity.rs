//! Purity: every shipped replica has zero imports, and a component that imports anything beyond
//! the deterministic WASI allow-list — or is not a component of the contract at all — is refused
//! with an error that says why.

use dmtbs_host::{ModuleError, ReplicaModule};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};

use crate::fleet::modules;

#[test]
fn every_shipped_component_loads_with_zero_imports() {
    let (runtime, _) = modules();
    let faulty = [
        components::FAULTY_LOGIC,
        components::FAULTY_RANDOM,
        components::FAULTY_PANIC,
        components::FAULTY_LOOP,
        components::FAULTY_MEMORY,
    ];
    for name in IMPLEMENTATIONS.iter().chain(&faulty) {
        // A module with no imports is instantiated with an empty linker.
        let module = ReplicaModule::from_file(runtime, &components::path(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(module.hash().len(), 64);
        assert_eq!(module.imports(), &[] as &[String], "{name}");
    }
}

#[test]
fn a_component_importing_beyond_the_wasi_allow_list_is_refused_naming_only_that() {
    let (runtime, _) = modules();
    // A clock is on the allow-list (served frozen); a TCP socket is not.
    let wat = r#"(component
        (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func (result u64)))))
        (import "wasi:sockets/tcp@0.2.0" (instance))
    )"#;
    let err = ReplicaModule::from_bytes(runtime, "networked", wat.as_bytes()).unwrap_err();
    match &err {
        ModuleError::HasImports { imports, .. } => {
            assert_eq!(imports, &["wasi:sockets/tcp@0.2.0"]);
        }
        other => panic!("expected HasImports, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("only the WASI interfaces std needs")
            && message.contains("wasi:sockets/tcp@0.2.0")
            && !message.contains("wall-clock"),
        "{message}"
    );
}

#[test]
fn a_component_without_the_contract_is_refused() {
    let (runtime, _) = modules();
    let err = ReplicaModule::from_bytes(runtime, "empty", b"(component)").unwrap_err();
    assert!(matches!(err, ModuleError::WrongContract { .. }), "{err:?}");
    let err = ReplicaModule::from_bytes(runtime, "garbage", b"\0asm not really").unwrap_err();
    assert!(matches!(err, ModuleError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("garbage"), "{err}");
}
