//! The stages, run per problem on worker threads, each problem's outcome written to
//! `OUT/problems/<name>.json` as soon as it is known (so a re-run skips it).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use codegym_core::{ChatMessage, Role, Sampling};
use codegym_host::{AgentOptions, ChatModel, ChatRequest, Env, EnvCard, Host, Job, Package, PythonRuntime};
use serde::{Deserialize, Serialize};

use crate::compile::{BuildFailure, Toolchain};
use crate::prompt::{self, Feedback};
use crate::{Error, Problem, policy};

/// What the model writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// `src/lib.rs` against `codegym-env-sdk`.
    Rust,
    /// A CodeGym-style Python file, prepared into a package on the shared Python runtime.
    Python,
}

impl Lang {
    pub(crate) fn fence(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
        }
    }

    pub(crate) fn tags(self) -> &'static [&'static str] {
        match self {
            Lang::Rust => &["rust", "rs"],
            Lang::Python => &["python", "py", "python3"],
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "rust" => Ok(Lang::Rust),
            "python" => Ok(Lang::Python),
            other => Err(format!("unknown language `{other}` (want rust or python)")),
        }
    }
}

/// The stages in order; a problem is dropped at the first one its best attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Generation,
    Compile,
    Checks,
    Configs,
    Oracle,
    Filter,
}

impl Stage {
    pub const ALL: [Stage; 6] =
        [Stage::Generation, Stage::Compile, Stage::Checks, Stage::Configs, Stage::Oracle, Stage::Filter];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Generation => "generation",
            Stage::Compile => "compile",
            Stage::Checks => "checks",
            Stage::Configs => "configs",
            Stage::Oracle => "oracle",
            Stage::Filter => "filter",
        }
    }

    /// What passing it means, for the funnel.
    pub fn passed(self) -> &'static str {
        match self {
            Stage::Generation => "generated",
            Stage::Compile => "compiled",
            Stage::Checks => "checked (no imports, >= 4 tools with Observe and Done)",
            Stage::Configs => "configs deterministic, distinct; references within fuel",
            Stage::Oracle => "verified (oracle reward 1 on every config)",
            Stage::Filter => {
                "kept (10-256 oracle calls at medium, wrong answer 0, no answer tool, difficulty)"
            }
        }
    }

    /// Where a rejection by `codegym verify` belongs.
    fn of_verify(stage: codegym_host::Stage) -> Stage {
        use codegym_host::Stage as V;
        match stage {
            V::Load | V::Tools => Stage::Checks,
            V::Configs | V::Reference => Stage::Configs,
            V::Oracle => Stage::Oracle,
            V::OracleCalls | V::WrongAnswer | V::NoAnswerTool => Stage::Filter,
        }
    }
}

/// One stage of one attempt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: Stage,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Time spent in the stage. One verification pass checks tools, configs and the oracle;
    /// its time is on the last of those it reached.
    pub seconds: f64,
}

/// One attempt at a problem (of up to K).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub attempt: usize,
    /// Repair rounds after failed compiles.
    pub repairs: usize,
    pub stages: Vec<StageRecord>,
}

impl AttemptRecord {
    /// The stage it failed at, with the reason; `None` if it passed them all.
    fn failure(&self) -> Option<(Stage, &str)> {
        self.stages.iter().find(|s| !s.ok).map(|s| (s.stage, s.reason.as_deref().unwrap_or("")))
    }

    fn passed(&self, stage: Stage) -> bool {
        self.stages.iter().any(|s| s.stage == stage && s.ok)
    }
}

/// What happened to one problem: written to `OUT/problems/<name>.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProblemRecord {
    pub id: String,
    pub name: String,
    pub lang: Lang,
    pub kept: bool,
    /// The stage it was dropped at (the furthest any attempt reached), or `filter` if kept.
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub attempts: Vec<AttemptRecord>,
    /// The component (`OUT/<name>.wasm`) and its card (`OUT/<name>.card.json`), when kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oracle_calls_medium: Option<f64>,
    /// Share of the difficulty filter's episodes the base model solved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_solve_rate: Option<f64>,
    pub seconds: f64,
}

impl ProblemRecord {
    pub fn passed(&self, stage: Stage) -> bool {
        self.attempts.iter().any(|a| a.passed(stage))
    }
}

/// The optional difficulty filter: the base model plays `samples` medium tasks through the
/// agent loop of `codegym eval`; the environment is kept if it solves at most `max_solved`
/// of them.
#[derive(Clone, Debug)]
pub struct DifficultyFilter {
    pub samples: u64,
    pub max_solved: f64,
    pub agent: AgentOptions,
}

#[derive(Clone, Debug)]
pub struct SynthOptions {
    pub lang: Lang,
    /// Attempts per problem (pass@K).
    pub k: usize,
    /// Repair rounds per attempt after a failed compile.
    pub repairs: usize,
    /// Problems in flight at once.
    pub concurrency: usize,
    /// Configs the verification samples (over three difficulties).
    pub configs: usize,
    pub sampling: Sampling,
    /// Oracle episodes per probed difficulty for a kept environment's card.
    pub card_seeds: u64,
    pub difficulty: Option<DifficultyFilter>,
}

impl Default for SynthOptions {
    fn default() -> Self {
        Self {
            lang: Lang::Rust,
            k: 10,
            repairs: 2,
            concurrency: 2,
            configs: 30,
            sampling: Sampling::default(),
            card_seeds: 5,
            difficulty: None,
        }
    }
}

/// The models: one that writes environments (one instance per worker) and, for the
/// difficulty filter, the base model (one per episode).
pub struct Models<'a> {
    pub author: &'a (dyn Fn() -> Box<dyn ChatModel> + Sync),
    pub base: Option<&'a (dyn Fn(usize) -> Box<dyn ChatModel> + Sync)>,
}

/// One row of the funnel: problems that passed a stage.
#[derive(Clone, Debug, Serialize)]
pub struct FunnelRow {
    pub stage: Stage,
    pub description: &'static str,
    pub passed: usize,
}

/// The funnel report (`OUT/funnel.json`): problems → generated → … → kept.
#[derive(Clone, Debug, Serialize)]
pub struct Funnel {
    pub problems: usize,
    pub kept: usize,
    /// Problems finished by an earlier run and skipped by this one.
    pub resumed: usize,
    pub funnel: Vec<FunnelRow>,
    /// Problems dropped per stage.
    pub dropped: std::collections::BTreeMap<String, usize>,
    pub attempts: usize,
    pub repairs: usize,
    pub elapsed_secs: f64,
    pub records: Vec<ProblemRecord>,
}

/// A synthesis run writing into `out`.
pub struct Synth {
    pub toolchain: Toolchain,
    pub host: Host,
    pub options: SynthOptions,
    pub out: PathBuf,
}

impl Synth {
    fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
        move |source| Error::Io { path: path.to_owned(), source }
    }

    /// A Python attempt as a package on the shared runtime (in-process: neither
    /// componentize-py nor Cranelift); what the file gets wrong goes back to the model.
    fn prepare_python(&self, name: &str, code: &str) -> Result<Artifact, BuildFailure> {
        let runtime = self.host.python_runtime(&self.toolchain.python_runtime).map_err(|error| {
            BuildFailure::Fatal(format!(
                "the shared Python runtime {}: {error} (run `cargo xtask build-envs`)",
                self.toolchain.python_runtime.display()
            ))
        })?;
        let file = format!("{}.py", name.replace('-', "_"));
        match runtime.prepare(name, &file, code, None) {
            Ok(package) => Ok(Artifact::Package(Box::new(package), runtime)),
            Err(codegym_host::Error::Package(message)) => Err(BuildFailure::Errors(message)),
            Err(codegym_host::Error::Fault { kind, .. }) => Err(BuildFailure::Errors(format!(
                "running the file's top level faulted: {}",
                kind.describe()
            ))),
            Err(other) => Err(BuildFailure::Fatal(other.to_string())),
        }
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.out.join("problems").join(format!("{name}.json"))
    }

    /// A finished record from an earlier run, if its outputs are still there.
    fn finished(&self, problem: &Problem) -> Option<ProblemRecord> {
        let text = std::fs::read_to_string(self.record_path(&problem.name())).ok()?;
        let record: ProblemRecord = serde_json::from_str(&text).ok()?;
        let intact = record.id == problem.id
            && record.lang == self.options.lang
            && record.component.as_ref().is_none_or(|c| self.out.join(c).is_file());
        intact.then_some(record)
    }

    /// Run every problem not finished before; `done` is called after each (with whether it
    /// was resumed).
    pub fn run(
        &self,
        problems: &[Problem],
        models: &Models<'_>,
        done: &(dyn Fn(&ProblemRecord, bool) + Sync),
    ) -> Result<Funnel, Error> {
        let started = Instant::now();
        for dir in [self.out.clone(), self.out.join("problems"), self.out.join("work")] {
            std::fs::create_dir_all(&dir).map_err(Self::io(&dir))?;
        }
        let records: Vec<Mutex<Option<(ProblemRecord, bool)>>> = problems
            .iter()
            .map(|problem| {
                let resumed = self.finished(problem);
                if let Some(record) = &resumed {
                    done(record, true);
                }
                Mutex::new(resumed.map(|r| (r, true)))
            })
            .collect();
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..self.options.concurrency.max(1) {
                scope.spawn(|| {
                    let mut model = (models.author)();
                    loop {
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        let Some(problem) = problems.get(index) else { break };
                        let slot = &records[index];
                        if slot.lock().unwrap_or_else(|e| e.into_inner()).is_some() {
                            continue;
                        }
                        match self.problem(problem, model.as_mut(), models.base) {
                            Ok(record) => {
                                done(&record, false);
                                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some((record, false));
                            }
                            Err(error) => {
                                failure.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(error);
                                break;
                            }
                        }
                    }
                });
            }
        });
        if let Some(error) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(error);
        }
        let records: Vec<(ProblemRecord, bool)> =
            records.into_iter().filter_map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner())).collect();
        let funnel = funnel(records, started.elapsed().as_secs_f64());
        let path = self.out.join("funnel.json");
        let text = serde_json::to_string_pretty(&funnel).unwrap_or_default();
        std::fs::write(&path, text + "\n").map_err(Self::io(&path))?;
        Ok(funnel)
    }

    /// Up to K attempts at one problem; its record is written before this returns.
    fn problem(
        &self,
        problem: &Problem,
        model: &mut dyn ChatModel,
        base: Option<&(dyn Fn(usize) -> Box<dyn ChatModel> + Sync)>,
    ) -> Result<ProblemRecord, Error> {
        let started = Instant::now();
        let name = problem.name();
        let work = self.out.join("work").join(&name);
        std::fs::create_dir_all(&work).map_err(Self::io(&work))?;
        let mut attempts: Vec<AttemptRecord> = Vec::new();
        let mut kept = None;
        for attempt in 1..=self.options.k.max(1) {
            let feedback = attempts.last().and_then(AttemptRecord::failure).map(|(stage, reason)| Feedback {
                attempt: attempt - 1,
                stage: stage.as_str(),
                reason,
            });
            let mut run = Attempt {
                synth: self,
                problem,
                name: &name,
                work: &work,
                record: AttemptRecord { attempt, repairs: 0, stages: Vec::new() },
            };
            let prompt = prompt::generation(self.options.lang, problem, &name, feedback.as_ref());
            let outcome = run.run(prompt, model, base);
            attempts.push(run.record);
            if let Some(outcome) = outcome {
                kept = Some(outcome);
                break;
            }
        }
        // The attempt that got furthest explains the drop.
        let best = attempts
            .iter()
            .filter_map(AttemptRecord::failure)
            .max_by_key(|(stage, _)| *stage)
            .map(|(stage, reason)| (stage, reason.to_owned()));
        let mut record = ProblemRecord {
            id: problem.id.clone(),
            name: name.clone(),
            lang: self.options.lang,
            kept: kept.is_some(),
            stage: best.as_ref().map_or(Stage::Filter, |(stage, _)| *stage),
            reason: best.map(|(_, reason)| reason),
            attempts,
            component: None,
            tools: None,
            oracle_calls_medium: None,
            base_solve_rate: None,
            seconds: 0.0,
        };
        if let Some(kept) = kept {
            let (component, bytes) = match &kept.artifact {
                Artifact::Component(bytes) => (format!("{name}.wasm"), bytes.clone()),
                Artifact::Package(package, runtime) => {
                    runtime.install_into(&self.out)?;
                    (format!("{name}.{}", codegym_host::PACKAGE_EXTENSION), package.to_bytes())
                }
            };
            let path = self.out.join(&component);
            std::fs::write(&path, &bytes).map_err(Self::io(&path))?;
            let card_path = self.out.join(format!("{name}.card.json"));
            let card = serde_json::to_string_pretty(&kept.card).unwrap_or_default();
            std::fs::write(&card_path, card + "\n").map_err(Self::io(&card_path))?;
            record.stage = Stage::Filter;
            record.reason = None;
            record.component = Some(component);
            record.tools = Some(kept.card.tools.len());
            record.oracle_calls_medium = kept.card.at(50).map(|d| d.oracle_calls.mean);
            record.base_solve_rate = kept.base_solve_rate;
        }
        record.seconds = started.elapsed().as_secs_f64();
        let path = self.record_path(&name);
        let partial = path.with_extension("json.partial");
        let text = serde_json::to_string_pretty(&record).unwrap_or_default() + "\n";
        std::fs::write(&partial, text).map_err(Self::io(&partial))?;
        std::fs::rename(&partial, &path).map_err(Self::io(&path))?;
        Ok(record)
    }
}

/// A kept environment.
struct Kept {
    artifact: Artifact,
    card: EnvCard,
    base_solve_rate: Option<f64>,
}

/// What an attempt built: a component (the Rust lane) or a package on a runtime (Python).
enum Artifact {
    Component(Vec<u8>),
    Package(Box<Package>, PythonRuntime),
}

/// One attempt in progress.
struct Attempt<'a> {
    synth: &'a Synth,
    problem: &'a Problem,
    name: &'a str,
    work: &'a Path,
    record: AttemptRecord,
}

impl Attempt<'_> {
    fn pass(&mut self, stage: Stage, since: Instant) {
        self.record.stages.push(StageRecord {
            stage,
            ok: true,
            reason: None,
            seconds: since.elapsed().as_secs_f64(),
        });
    }

    fn fail(&mut self, stage: Stage, since: Instant, reason: impl Into<String>) -> Option<Kept> {
        let reason = prompt::clip(&reason.into(), 4000);
        self.record.stages.push(StageRecord {
            stage,
            ok: false,
            reason: Some(reason),
            seconds: since.elapsed().as_secs_f64(),
        });
        None
    }

    /// Ask the model; the code of its reply, or why there is none.
    fn ask(
        &self,
        model: &mut dyn ChatModel,
        conversation: &[ChatMessage],
    ) -> Result<(String, String), String> {
        let request =
            ChatRequest { messages: conversation, tools: &[], sampling: self.synth.options.sampling };
        let completion =
            model.complete(&request).map_err(|error| format!("the model gave no reply: {error}"))?;
        let reply = completion.message.content.unwrap_or_default();
        let lang = self.synth.options.lang;
        let code = prompt::extract_code(&reply, lang)
            .ok_or_else(|| format!("the reply has no ```{} code block", lang.fence()))?;
        if lang == Lang::Rust {
            policy::check_rust(&code).map_err(|reason| format!("refused: {reason}"))?;
        }
        Ok((reply, code))
    }

    /// The stages of this attempt; the kept environment if it passed them all.
    fn run(
        &mut self,
        prompt: String,
        model: &mut dyn ChatModel,
        base: Option<&(dyn Fn(usize) -> Box<dyn ChatModel> + Sync)>,
    ) -> Option<Kept> {
        let lang = self.synth.options.lang;
        let since = Instant::now();
        let mut conversation = vec![ChatMessage::new(Role::User, prompt)];
        let (mut reply, mut code) = match self.ask(model, &conversation) {
            Ok(answer) => answer,
            Err(reason) => return self.fail(Stage::Generation, since, reason),
        };
        self.pass(Stage::Generation, since);

        let since = Instant::now();
        let attempt_dir = self.work.join(format!("attempt-{}", self.record.attempt));
        let module = loop {
            let saved = attempt_dir.join(format!(
                "round-{}.{}",
                self.record.repairs,
                if lang == Lang::Rust { "rs" } else { "py" }
            ));
            // Kept for inspection; a failure to save is not the environment's fault.
            let _ = std::fs::create_dir_all(&attempt_dir).and_then(|()| std::fs::write(&saved, &code));
            let built = match lang {
                Lang::Rust => self
                    .synth
                    .toolchain
                    .build_rust(self.name, &code, &self.work.join("crate"))
                    .map(Artifact::Component),
                Lang::Python => self.synth.prepare_python(self.name, &code),
            };
            match built {
                Ok(bytes) => break bytes,
                Err(BuildFailure::Fatal(reason)) => return self.fail(Stage::Compile, since, reason),
                Err(BuildFailure::Errors(errors)) if self.record.repairs >= self.synth.options.repairs => {
                    // The line that says what broke: rustc's first error, Python's last
                    // exception (a traceback ends with its cause).
                    let headline = match lang {
                        Lang::Rust => errors.lines().find(|line| line.contains("error")),
                        Lang::Python => errors.lines().next(),
                    };
                    let reason = format!(
                        "does not build after {} repairs: {}\n{errors}",
                        self.record.repairs,
                        headline.unwrap_or_default().trim()
                    );
                    return self.fail(Stage::Compile, since, reason);
                }
                Err(BuildFailure::Errors(errors)) => {
                    self.record.repairs += 1;
                    conversation.push(ChatMessage::new(Role::Assistant, reply));
                    conversation.push(ChatMessage::new(Role::User, prompt::repair(lang, &errors)));
                    match self.ask(model, &conversation) {
                        Ok(answer) => (reply, code) = answer,
                        Err(reason) => {
                            return self.fail(
                                Stage::Compile,
                                since,
                                format!("repair {}: {reason}", self.record.repairs),
                            );
                        }
                    }
                }
            }
        };
        self.pass(Stage::Compile, since);

        let since = Instant::now();
        let artifact = match module {
            Artifact::Component(module) => match codegym_componentize::module_imports(&module) {
                Ok(imports) if !imports.is_empty() => {
                    return self.fail(
                        Stage::Checks,
                        since,
                        format!(
                            "the module imports {}; environments must import nothing",
                            imports.join(", ")
                        ),
                    );
                }
                Ok(_) => match codegym_componentize::componentize(&module) {
                    Ok(component) => Artifact::Component(component),
                    Err(error) => return self.fail(Stage::Checks, since, error.to_string()),
                },
                Err(error) => return self.fail(Stage::Checks, since, error.to_string()),
            },
            package => package,
        };
        let loaded: Result<Env, _> = match &artifact {
            Artifact::Component(component) => self.synth.host.load_bytes(component),
            Artifact::Package(package, runtime) => runtime.load(package.as_ref().clone()),
        };
        let env = match loaded {
            Ok(env) => env,
            Err(error) => {
                return self.fail(Stage::Checks, since, format!("the environment does not load: {error}"));
            }
        };
        // One verification pass covers the tool check, configs and oracle: the stages it
        // passes are recorded with no time of their own, and its time goes to the last one.
        let loaded = since.elapsed().as_secs_f64();
        let since = Instant::now();
        let passed_before = |this: &mut Self, failed: Stage| {
            for stage in Stage::ALL.into_iter().filter(|s| *s > Stage::Compile && *s < failed) {
                let seconds = if stage == Stage::Checks { loaded } else { 0.0 };
                this.record.stages.push(StageRecord { stage, ok: true, reason: None, seconds });
            }
        };
        if let Err((stage, reason)) = codegym_host::verify_env(&env, self.synth.options.configs) {
            let failed = Stage::of_verify(stage);
            passed_before(self, failed);
            return self.fail(failed, since, format!("{}: {reason}", stage.describe()));
        }
        passed_before(self, Stage::Oracle);
        self.pass(Stage::Oracle, since);

        let since = Instant::now();
        let card = match EnvCard::measure(&env, self.synth.options.card_seeds) {
            Ok(card) => card,
            Err(error) => return self.fail(Stage::Filter, since, format!("measuring the card: {error}")),
        };
        let mut base_solve_rate = None;
        if let (Some(filter), Some(base)) = (&self.synth.options.difficulty, base) {
            let jobs: Vec<Job> =
                (0..filter.samples).map(|seed| Job::sampled(env.clone(), seed, 50)).collect();
            let report = codegym_host::evaluate(&jobs, base, &filter.agent, 1, &|_| {});
            if let Some(error) = report.errors.first() {
                return self.fail(
                    Stage::Filter,
                    since,
                    format!("difficulty filter: the base model's episodes failed: {error}"),
                );
            }
            let rate = report.solved as f64 / report.episodes.max(1) as f64;
            base_solve_rate = Some(rate);
            if rate > filter.max_solved {
                return self.fail(
                    Stage::Filter,
                    since,
                    format!(
                        "difficulty filter: the base model solved {} of {} medium tasks ({:.0}% > {:.0}%)",
                        report.solved,
                        report.episodes,
                        rate * 100.0,
                        filter.max_solved * 100.0
                    ),
                );
            }
        }
        self.pass(Stage::Filter, since);
        let _ = self.problem;
        Some(Kept { artifact, card, base_solve_rate })
    }
}

/// The funnel over all records.
fn funnel(records: Vec<(ProblemRecord, bool)>, elapsed_secs: f64) -> Funnel {
    let mut dropped = std::collections::BTreeMap::new();
    for (record, _) in records.iter().filter(|(r, _)| !r.kept) {
        *dropped.entry(record.stage.as_str().to_owned()).or_insert(0) += 1;
    }
    Funnel {
        problems: records.len(),
        kept: records.iter().filter(|(r, _)| r.kept).count(),
        resumed: records.iter().filter(|(_, resumed)| *resumed).count(),
        funnel: Stage::ALL
            .iter()
            .map(|&stage| FunnelRow {
                stage,
                description: stage.passed(),
                passed: records.iter().filter(|(r, _)| r.passed(stage)).count(),
            })
            .collect(),
        dropped,
        attempts: records.iter().map(|(r, _)| r.attempts.len()).sum(),
        repairs: records.iter().flat_map(|(r, _)| &r.attempts).map(|a| a.repairs).sum(),
        elapsed_secs,
        records: records.into_iter().map(|(r, _)| r).collect(),
    }
}
