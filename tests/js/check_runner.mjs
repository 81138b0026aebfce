// A check run as every caller runs one (SPEC §10): the first call on the headers, the lookups
// in a vector's `store`, the second call. The Rust runners (tests/src/lib.rs) do the same.

/// `check` is the module's JS API; `input` is a check vector's input. The answer carries the
/// first call's lookup (or null when it answered at once), so that vectors pin what is asked.
export function runCheck(check, input) {
  if (input.headers === undefined) return { ...check.checkAnswer(input), lookup: null };
  const step = check.checkRequest(input.headers, input.forwarded_headers);
  if (!step.lookup) return { ...step, lookup: null };
  const { store } = input;
  const second = store.failure
    ? { failure: store.failure }
    : {
      request: step.request,
      now: input.now,
      token: store.tokens[step.lookup.sha256] ?? null,
      repository_project: null,
    };
  const repository = step.lookup.repository;
  if (second.token && repository) {
    second.repository_project = store.repositories[`${repository.workspace}/${repository.slug}`] ?? null;
  }
  return { ...check.checkAnswer(second), lookup: step.lookup };
}
