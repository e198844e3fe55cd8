//! Creation-time `provisioner "local-exec"` blocks: commands run on the
//! machine running stackd right after a resource is created (the original
//! project used one to fill `known_hosts` for its bastion).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;

use stackd_spec::config::ResourceBlock;
use stackd_spec::diag::Diagnostic;
use stackd_spec::eval::Scope;
use stackd_spec::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// One evaluated `local-exec` provisioner.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalExec {
    pub command: String,
    pub environment: BTreeMap<String, String>,
    pub working_dir: Option<PathBuf>,
    /// The program and leading arguments the command is passed to
    /// (default `["/bin/sh", "-c"]`).
    pub interpreter: Vec<String>,
    /// `on_failure = continue`: a failure is reported but not fatal.
    pub continue_on_failure: bool,
}

/// Evaluates a block's provisioners; `scope.self_value` must be set.
pub fn evaluate(block: &ResourceBlock, scope: &Scope) -> Result<Vec<LocalExec>, Vec<Diagnostic>> {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for p in &block.provisioners {
        if p.kind != "local-exec" {
            diags.push(Diagnostic::error(
                format!(
                    "provisioner \"{}\" is not supported; stackd runs local-exec provisioners",
                    p.kind
                ),
                Some(p.span),
            ));
            continue;
        }
        let mut eval = |name: &str| -> Option<Value> {
            let a = p.body.attr(name)?;
            match scope.eval(&a.expr) {
                Ok(v) if !v.is_wholly_known() => {
                    diags.push(Diagnostic::error(
                        format!("{name} refers to values known only after this resource is created; provisioners may use its arguments and other resources"),
                        Some(a.expr.span),
                    ));
                    None
                }
                Ok(v) => Some(v),
                Err(d) => {
                    diags.push(d);
                    None
                }
            }
        };
        let command = eval("command").and_then(|v| v.as_str().map(str::to_string));
        let environment = match eval("environment") {
            Some(Value::Map(m)) => m
                .into_iter()
                .map(|(k, v)| (k, v.to_template_string().unwrap_or_default()))
                .collect(),
            _ => BTreeMap::new(),
        };
        let working_dir = eval("working_dir").and_then(|v| v.as_str().map(PathBuf::from));
        let interpreter = match eval("interpreter") {
            Some(Value::List(items)) => items
                .iter()
                .filter_map(|i| i.to_template_string())
                .collect(),
            _ => vec!["/bin/sh".to_string(), "-c".to_string()],
        };
        let continue_on_failure = eval("on_failure")
            .and_then(|v| v.as_str().map(|s| s == "continue"))
            .unwrap_or(false);
        if let Some(when) = p.body.attr("when") {
            diags.push(Diagnostic::error(
                "destroy-time provisioners (when = destroy) are not supported yet",
                Some(when.expr.span),
            ));
        }
        match command {
            Some(command) => out.push(LocalExec {
                command,
                environment,
                working_dir,
                interpreter,
                continue_on_failure,
            }),
            None => diags.push(Diagnostic::error(
                "local-exec needs a command string",
                Some(p.span),
            )),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// Runs a command, passing each line it prints to `line`. Fails with the
/// exit status and the last lines of output.
pub async fn run(exec: &LocalExec, mut line: impl FnMut(&str) + Send) -> Result<(), String> {
    let (program, args) = exec
        .interpreter
        .split_first()
        .ok_or_else(|| "local-exec: the interpreter is empty".to_string())?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .arg(&exec.command)
        .envs(&exec.environment)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = &exec.working_dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("local-exec: cannot start {program}: {e}"))?;
    let mut out = BufReader::new(child.stdout.take().ok_or("local-exec: no stdout")?).lines();
    let mut err = BufReader::new(child.stderr.take().ok_or("local-exec: no stderr")?).lines();
    let mut tail: Vec<String> = Vec::new();
    let (mut out_done, mut err_done) = (false, false);
    while !(out_done && err_done) {
        let next = tokio::select! {
            l = out.next_line(), if !out_done => l.map(|l| l.ok_or(true)),
            l = err.next_line(), if !err_done => l.map(|l| l.ok_or(false)),
        };
        match next {
            Ok(Ok(text)) => {
                line(&text);
                tail.push(text);
                if tail.len() > 5 {
                    tail.remove(0);
                }
            }
            Ok(Err(true)) => out_done = true,
            Ok(Err(false)) => err_done = true,
            Err(e) => return Err(format!("local-exec: reading output: {e}")),
        }
    }
    let status = child.wait().await.map_err(|e| format!("local-exec: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "local-exec command {:?} failed ({status}){}",
            exec.command,
            if tail.is_empty() {
                String::new()
            } else {
                format!(": {}", tail.join(" / "))
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(command: &str) -> LocalExec {
        LocalExec {
            command: command.into(),
            environment: [("GREETING".to_string(), "hello".to_string())].into(),
            working_dir: None,
            interpreter: vec!["/bin/sh".into(), "-c".into()],
            continue_on_failure: false,
        }
    }

    #[tokio::test]
    async fn output_is_streamed_and_environment_passed() {
        let mut lines = Vec::new();
        run(&exec("echo $GREETING; echo to-stderr >&2"), |l| {
            lines.push(l.to_string())
        })
        .await
        .unwrap();
        lines.sort();
        assert_eq!(lines, ["hello", "to-stderr"]);
    }

    #[tokio::test]
    async fn a_failing_command_reports_its_status_and_output() {
        let err = run(&exec("echo boom; exit 3"), |_| {}).await.unwrap_err();
        assert!(
            err.contains("exit status: 3") && err.contains("boom"),
            "{err}"
        );
    }
}
