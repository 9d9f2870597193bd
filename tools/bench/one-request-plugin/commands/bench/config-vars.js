// The smallest useful linked command: one GET /apps/{app}/config-vars through this.heroku, the
// body printed as JSON. Resolves @heroku-cli/command from the repository's node_modules, so it
// loads the same client the plugin does.
import {Command} from '@heroku-cli/command'

export default class ConfigVars extends Command {
  static baseFlags = Command.baseFlagsWithoutPrompt()
  static description = 'print one app\'s config vars (the benchmark\'s one-request yardstick)'

  async run() {
    const app = (process.env.FLAGS_BACKFILL_APPS ?? '').split(',')[0]
    const {body} = await this.heroku.get(`/apps/${encodeURIComponent(app)}/config-vars`, {retryAuth: false})
    process.stdout.write(`${JSON.stringify(body)}\n`)
  }
}
