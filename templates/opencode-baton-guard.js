// baton guard for opencode, installed by `baton learn hooks install opencode`
// as .opencode/plugins/baton-guard.js (opencode loads every file there).
//
// Before every bash command it asks `baton learn pre-command --json`:
//   high   -> throws, so opencode does not run the command and the agent
//             sees why;
//   medium -> logs a warning and leaves the call to opencode's own
//             permission settings (plugins cannot ask the user);
//   low    -> nothing.
// After the command it records the outcome with `baton learn post-command`
// when opencode reports an exit code.
//
// Before `edit`, `write`, `apply_patch` and `patch` it asks `baton learn
// pre-command --json --edit <files>` whether another actor reserved those
// files (docs/reservations.md): reserved exclusively -> throws; shared -> a
// warning in the log.
//
// Fail closed: when baton cannot answer (not found, an error such as a
// config that does not load, no verdict at all), the command is refused
// with what baton said. BATON_BIN overrides the baton it runs; BATON_ACTOR,
// when set, the actor it acts as.

const DEFAULT_BATON = "baton"
const DEFAULT_ACTOR = "agent:opencode"

export const BatonGuard = async ({ $, client, directory }) => {
  const baton = process.env.BATON_BIN || DEFAULT_BATON
  const env = { ...process.env, BATON_ACTOR: process.env.BATON_ACTOR || DEFAULT_ACTOR }
  const started = new Map()

  const log = async (level, message) => {
    try {
      await client?.app?.log?.({ body: { service: "baton-guard", level, message } })
    } catch {
      // logging is best effort
    }
  }

  const explain = (verdict) =>
    (verdict.reasons || []).map((r) => `[${r.rule}] ${r.command}: ${r.why}`).join("; ")

  // The files an edit-tool call writes: `filePath`, or a patch's file headers.
  const editedFiles = (tool, args) => {
    if (tool === "edit" || tool === "write") {
      return typeof args?.filePath === "string" && args.filePath !== "" ? [args.filePath] : []
    }
    // `apply_patch` is what opencode offers GPT models instead of `edit`
    // and `write`; `patch` is its older name.
    if (tool === "patch" || tool === "apply_patch") {
      const text = typeof args?.patchText === "string" ? args.patchText : ""
      const files = []
      for (const line of text.split("\n")) {
        const m = /^\*\*\* (?:Add File|Update File|Delete File|Move to): (.+)$/.exec(line.trimEnd())
        if (m && !files.includes(m[1].trim())) files.push(m[1].trim())
      }
      return files
    }
    return null
  }

  const checkEdit = async (files) => {
    let result
    try {
      result = await $`${baton} learn pre-command --json --edit ${files}`.cwd(directory).env(env).quiet().nothrow()
    } catch (e) {
      throw new Error(`baton: blocked, the guard could not run ${baton}: ${e?.message ?? e}`)
    }
    let verdict
    try {
      verdict = JSON.parse(result.stdout.toString())
    } catch {
      const said = `${result.stderr?.toString() ?? ""}`.trim()
      throw new Error(`baton: blocked, the guard gave no verdict (exit ${result.exitCode}): ${said || "no output"}`)
    }
    if (verdict?.error || typeof verdict?.level !== "string") {
      const message = verdict?.error?.message ?? "no verdict"
      const hint = verdict?.error?.hint ? `; hint: ${verdict.error.hint}` : ""
      throw new Error(`baton: blocked, the guard cannot judge: error: ${message}${hint}`)
    }
    if (verdict.level === "high") throw new Error(`baton: reserved, not written. ${explain(verdict)}`)
    if (verdict.level === "medium") await log("warn", `baton: reserved shared. ${explain(verdict)}`)
  }

  return {
    "tool.execute.before": async (input, output) => {
      const files = editedFiles(input.tool, output?.args)
      if (files !== null) {
        if (files.length > 0) await checkEdit(files)
        return
      }
      if (input.tool !== "bash") return
      const command = output?.args?.command
      if (typeof command !== "string" || command.trim() === "") return

      let result
      try {
        result = await $`${baton} learn pre-command --json --command ${command}`
          .cwd(directory)
          .env(env)
          .quiet()
          .nothrow()
      } catch (e) {
        throw new Error(`baton: blocked, the guard could not run ${baton}: ${e?.message ?? e}`)
      }
      const said = `${result.stderr?.toString() ?? ""}`.trim()
      let verdict
      try {
        verdict = JSON.parse(result.stdout.toString())
      } catch {
        throw new Error(
          `baton: blocked, the guard gave no verdict (exit ${result.exitCode}): ${said || "no output"}`,
        )
      }
      if (verdict?.error || typeof verdict?.level !== "string") {
        const message = verdict?.error?.message ?? "no verdict"
        const hint = verdict?.error?.hint ? `; hint: ${verdict.error.hint}` : ""
        throw new Error(`baton: blocked, the guard cannot judge: error: ${message}${hint}`)
      }

      started.set(input.callID, { command, at: Date.now() })
      if (verdict.level === "high") {
        started.delete(input.callID)
        throw new Error(`baton: high risk, not run. ${explain(verdict)}`)
      }
      if (verdict.level === "medium") {
        await log("warn", `baton: medium risk. ${explain(verdict)}`)
      }
    },

    "tool.execute.after": async (input, output) => {
      if (input.tool !== "bash") return
      const run = started.get(input.callID)
      started.delete(input.callID)
      if (!run) return
      const exit = output?.metadata?.exit
      if (typeof exit !== "number") return
      const duration = `${Math.max(0, Date.now() - run.at)}ms`
      await $`${baton} learn post-command --command ${run.command} --exit-code ${exit} --duration ${duration}`
        .cwd(directory)
        .env(env)
        .quiet()
        .nothrow()
    },
  }
}
