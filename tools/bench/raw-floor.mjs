#!/usr/bin/env node
// The raw floor: the backfill's I/O with nothing but fetch and postgres.js.
import {floorJob, runFloor} from './floor-io.mjs'

const job = floorJob()
const host = process.env.HEROKU_HOST ?? 'https://api.heroku.com'
const headers = {accept: 'application/vnd.heroku+json; version=3', authorization: `Bearer ${process.env.HEROKU_API_KEY}`}

await runFloor(job, async app => {
  const response = await fetch(`${host}/apps/${encodeURIComponent(app)}/config-vars`, {headers})
  if (!response.ok) throw new Error(`GET config-vars of ${app}: HTTP ${response.status}`)
  return response.json()
})
