//! Integration tests of the store, on real files in temporary folders, one module per concern.

mod checksums;
mod common;
mod corruption;
mod group_commit;
mod lifecycle;
mod permissions;
