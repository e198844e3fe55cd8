//! stackd-aws
