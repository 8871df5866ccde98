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
// If baton itself cannot answer (not installed, not a baton repository),
// the guard logs that and lets the command through: a broken guard must not
// stop all work. Set BATON_BIN to use a baton that is not on PATH.

export const BatonGuard = async ({ $, client, directory }) => {
  const baton = process.env.BATON_BIN || "baton"
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

  return {
    "tool.execute.before": async (input, output) => {
      if (input.tool !== "bash") return
      const command = output?.args?.command
      if (typeof command !== "string" || command.trim() === "") return

      const result = await $`${baton} learn pre-command --json --command ${command}`
        .cwd(directory)
        .quiet()
        .nothrow()
      let verdict
      try {
        verdict = JSON.parse(result.stdout.toString())
      } catch {
        await log("warn", `baton learn pre-command gave no verdict (exit ${result.exitCode}); command allowed`)
        return
      }
      if (verdict.error) {
        await log("warn", `baton learn pre-command: ${verdict.error.message}; command allowed`)
        return
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
        .quiet()
        .nothrow()
    },
  }
}
