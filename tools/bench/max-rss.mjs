// Preloaded (node --import) into every measured process: on exit, appends the process's peak RSS
// in kB to the file named by BENCH_MAX_RSS_FILE. Every measured command gets the same preload, so
// its few hundred microseconds cancel out in the ratios.
import {appendFileSync} from 'node:fs'

const file = process.env.BENCH_MAX_RSS_FILE
if (file) {
  process.on('exit', () => appendFileSync(file, `${process.pid} ${process.resourceUsage().maxRSS}\n`))
}
