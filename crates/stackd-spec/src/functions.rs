//! The built-in function library (cidrsubnet, format, merge, ...). Being written.
