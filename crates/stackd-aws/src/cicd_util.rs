//! Helpers shared by the CI/CD and bastion resource types (CodeBuild,
//! CodePipeline, key pairs, instances): CodeBuild and CodePipeline error
//! classification, bounded concurrent per-object reads for APIs without a
//! batch form, and the SHA-1 digest the Terraform provider stores for
//! `aws_instance.user_data`.

use std::future::Future;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use stackd_engine::provider::{ErrorKind, ProviderError};

use crate::error::from_sdk;

/// The service name CodeBuild errors carry (its IAM action prefix).
pub(crate) const CODEBUILD: &str = "codebuild";
/// The service name CodePipeline errors carry.
pub(crate) const CODEPIPELINE: &str = "codepipeline";

/// `.codebuild("CreateProject")?` / `.codepipeline("GetPipeline")?` on the
/// result of an SDK call: [`from_sdk`] plus the codes these services use
/// that the shared table does not know.
pub(crate) trait CicdResult<T> {
    fn codebuild(self, operation: &str) -> Result<T, ProviderError>;
    fn codepipeline(self, operation: &str) -> Result<T, ProviderError>;
}

impl<T, E> CicdResult<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    fn codebuild(self, operation: &str) -> Result<T, ProviderError> {
        self.map_err(|e| reclassify(from_sdk(CODEBUILD, operation, e)))
    }
    fn codepipeline(self, operation: &str) -> Result<T, ProviderError> {
        self.map_err(|e| reclassify(from_sdk(CODEPIPELINE, operation, e)))
    }
}

/// Operations that create or change an object and name an IAM role in it.
fn passes_a_role(operation: &str) -> bool {
    operation.starts_with("Create") || operation.starts_with("Update")
}

/// True when the service reports it cannot assume a role (yet): right after
/// the role or its policy was created, IAM has not propagated it.
/// CodeBuild: `InvalidInputException: CodeBuild is not authorized to perform:
/// sts:AssumeRole on ...` or `Not authorized to perform DescribeSecurityGroups`;
/// CodePipeline: `InvalidStructureException: CodePipeline is not authorized to
/// perform AssumeRole on role ...`.
pub(crate) fn role_not_ready(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    matches!(
        code,
        "InvalidInputException" | "InvalidStructureException" | "InvalidParameterException"
    ) && [
        "not authorized to perform",
        "cannot be assumed",
        "unable to assume",
        "role is not valid",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// True for the answer of an endpoint that lacks the operation (an emulator
/// answers `501 InternalFailure ... has not been implemented`): retrying
/// cannot help, whatever the code says.
pub(crate) fn is_unimplemented(err: &ProviderError) -> bool {
    let message = err.message.to_ascii_lowercase();
    message.contains("not been implemented") || message.contains("not yet implemented")
}

/// Adjusts the kind of a CodeBuild or CodePipeline error.
pub(crate) fn reclassify(mut err: ProviderError) -> ProviderError {
    let code = err.code.clone().unwrap_or_default();
    if is_unimplemented(&err) {
        err.kind = ErrorKind::Permanent;
    } else if code.ends_with("NotFoundException") {
        // ResourceNotFoundException, PipelineNotFoundException: the object
        // the request names does not exist.
        err.kind = ErrorKind::NotFound;
    } else if passes_a_role(&err.operation) && role_not_ready(&code, &err.message) {
        err.kind = ErrorKind::Transient;
    }
    err
}

/// Runs `read` for every item, at most
/// [`crate::concurrent::MAX_CONCURRENT_READS`] at once, and returns the
/// results in the items' order, or the first error. For APIs with no batch read.
pub(crate) async fn read_concurrently<I, T, F, Fut>(
    items: Vec<I>,
    read: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    crate::concurrent::bounded_all(items.into_iter().map(read))
        .await
        .into_iter()
        .collect()
}

/// The SHA-1 digest of `data` in lowercase hex (40 characters). SHA-1 is
/// what the Terraform provider stores for `user_data`, so states and plans
/// compare with its; it is not used for anything security-related.
pub(crate) fn sha1_hex(data: &[u8]) -> String {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for chunk in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in chunk.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_matches_the_standard_test_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            sha1_hex(&[b'a'; 1000]),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }

    fn err(operation: &str, code: &str, message: &str) -> ProviderError {
        ProviderError::new(ErrorKind::Permanent, CODEBUILD, operation, message).with_code(code)
    }

    #[test]
    fn a_role_not_yet_assumable_is_transient_on_create_and_update() {
        let e = reclassify(err(
            "CreateProject",
            "InvalidInputException",
            "CodeBuild is not authorized to perform: sts:AssumeRole on arn:aws:iam::1:role/cb",
        ));
        assert_eq!(e.kind, ErrorKind::Transient);
        let e = reclassify(err(
            "UpdatePipeline",
            "InvalidStructureException",
            "CodePipeline is not authorized to perform AssumeRole on role arn:aws:iam::1:role/cp",
        ));
        assert_eq!(e.kind, ErrorKind::Transient);
        let e = reclassify(err(
            "CreateProject",
            "InvalidInputException",
            "Invalid compute type provided: X",
        ));
        assert_eq!(e.kind, ErrorKind::Permanent);
    }

    #[test]
    fn not_found_exceptions_mean_gone() {
        for (op, code) in [
            ("GetPipeline", "PipelineNotFoundException"),
            ("ListTagsForResource", "ResourceNotFoundException"),
            ("DeleteProject", "ResourceNotFoundException"),
        ] {
            assert_eq!(reclassify(err(op, code, "x")).kind, ErrorKind::NotFound);
        }
    }

    #[test]
    fn an_unimplemented_operation_is_permanent() {
        let e = ProviderError::new(
            ErrorKind::Transient,
            CODEBUILD,
            "UpdateProject",
            "The UpdateProject action has not been implemented",
        )
        .with_code("InternalFailure");
        assert_eq!(reclassify(e).kind, ErrorKind::Permanent);
    }

    #[tokio::test]
    async fn concurrent_reads_keep_the_order_and_stop_at_an_error() {
        let out = read_concurrently((0..20).collect(), |i: u64| async move {
            tokio::time::sleep(std::time::Duration::from_millis(20 - i)).await;
            Ok(i * 2)
        })
        .await
        .unwrap();
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        let failed = read_concurrently(vec![1, 2, 3], |i: u32| async move {
            if i == 2 {
                Err(err("GetPipeline", "AccessDeniedException", "no"))
            } else {
                Ok(i)
            }
        })
        .await;
        assert!(failed.is_err());
    }
}
