#!/usr/bin/env node
// The client floor: the same I/O as the raw floor, the GETs going through @heroku-cli/command's
// APIClient (imported from the package's entry point, as a plugin would), which the plugin must use.
import {APIClient} from '@heroku-cli/command'
import {homedir} from 'node:os'
import {join} from 'node:path'

import {floorJob, runFloor} from './floor-io.mjs'

const job = floorJob()
// The few oclif Config fields APIClient reads; loading a real oclif Config is the plugin's cost, not the floor's.
const config = {dataDir: join(homedir(), '.local', 'share', 'heroku'), platform: process.platform, version: '0.0.0'}
const heroku = new APIClient(config)

await runFloor(job, async app => {
  const {body} = await heroku.get(`/apps/${encodeURIComponent(app)}/config-vars`, {retryAuth: false})
  return body
})
