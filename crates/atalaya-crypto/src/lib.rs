//! placeholder
pub mod canonical;
pub mod envelope;
pub mod httpsig;
pub mod keys;
