// rollout-ticks.ts reads the rollout's ticks from real agent logs; a wrong reading would make the simulation's
// rollout run at another pace than the agents' and its request figures drift (issue 15's reality check).
import { describe, expect, it } from 'vitest';
import { gateRequestMsOf, rolloutSamplesOf, rolloutTicksOf } from '../../bench/lib/rollout-ticks.js';
import type { LogLine } from '../../bench/lib/procs.js';

// Lines of m00003.log from a 10-agent `npm run bench -- scale-real --agents 10 --idle 60s` run, as the agent wrote
// them at FLOTILLA_LOG_LEVEL=debug: a heartbeat tick before the commit, then the first tick after it (a new
// worker, fetch, gate, activation, health).
const REAL = `{"level":20,"time":1796298456549,"pid":28836,"hostname":"vm","name":"m00003","trigger":"cron","why":"heartbeat","msg":"tick starting"}
{"level":20,"time":1796298462760,"pid":28836,"hostname":"vm","name":"m00003","pid":32584,"msg":"tick worker started"}
{"level":30,"time":1796298470521,"pid":32584,"hostname":"vm","name":"m00003","step":"testing-branch","ms":0.4,"msg":"step testing-branch done"}
{"level":30,"time":1796298473476,"pid":32584,"hostname":"vm","name":"m00003","commit":"6d028f62567da8b7e3b9cb82bf2a09ec1549ffad","exitCode":0,"storeRequests":1,"sets":[{"set":"set-000","result":"unchanged","reason":"Succeeded"}],"msg":"tick finished"}
{"level":20,"time":1796298506775,"pid":28836,"hostname":"vm","name":"m00003","trigger":"cron","why":"head-moved","msg":"tick starting"}
{"level":20,"time":1796298516527,"pid":28836,"hostname":"vm","name":"m00003","trigger":"cron","msg":"previous poll still running; firing skipped"}
{"level":20,"time":1796298522693,"pid":28836,"hostname":"vm","name":"m00003","pid":1592,"msg":"tick worker started"}
{"level":20,"time":1796298526551,"pid":28836,"hostname":"vm","name":"m00003","trigger":"cron","msg":"previous poll still running; firing skipped"}
{"level":30,"time":1796298528258,"pid":1592,"hostname":"vm","name":"m00003","step":"sync","ms":5407,"msg":"step sync done"}
{"level":30,"time":1796298529013,"pid":1592,"hostname":"vm","name":"m00003","step":"verify","ms":754.1,"msg":"step verify done"}
{"level":20,"time":1796298536600,"pid":28836,"hostname":"vm","name":"m00003","trigger":"cron","msg":"previous poll still running; firing skipped"}
{"level":30,"time":1796298540654,"pid":1592,"hostname":"vm","name":"m00003","step":"declarations","ms":11640.9,"msg":"step declarations done"}
{"level":30,"time":1796298540655,"pid":1592,"hostname":"vm","name":"m00003","step":"testing-branch","ms":0.3,"msg":"step testing-branch done"}
{"level":30,"time":1796298543603,"pid":1592,"hostname":"vm","name":"m00003","step":"pause","set":"set-000","ms":2165.2,"msg":"step pause done"}
{"level":30,"time":1796298544767,"pid":1592,"hostname":"vm","name":"m00003","step":"fetch","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","kind":"flotilla","ms":1137,"msg":"step fetch done"}
{"level":30,"time":1796298545218,"pid":1592,"hostname":"vm","name":"m00003","step":"stage","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","kind":"flotilla","ms":450.1,"msg":"step stage done"}
{"level":30,"time":1796298545581,"pid":1592,"hostname":"vm","name":"m00003","step":"pause","set":"set-000","ms":362.5,"msg":"step pause done"}
{"level":20,"time":1796298545786,"pid":1592,"hostname":"vm","name":"m00003","set":"set-000","allowed":true,"requests":1,"msg":"gate decision"}
{"level":30,"time":1796298546509,"pid":1592,"hostname":"vm","name":"m00003","step":"gate","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","ms":926.7,"msg":"step gate done"}
{"level":20,"time":1796298546525,"pid":28836,"hostname":"vm","name":"m00003","trigger":"cron","msg":"previous poll still running; firing skipped"}
{"level":30,"time":1796298546711,"pid":1592,"hostname":"vm","name":"m00003","step":"fence-drain","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":75.5,"msg":"step fence-drain done"}
{"level":30,"time":1796298546713,"pid":1592,"hostname":"vm","name":"m00003","step":"drain","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":1.4,"msg":"step drain done"}
{"level":30,"time":1796298546740,"pid":1592,"hostname":"vm","name":"m00003","step":"fence-switch","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":26.5,"msg":"step fence-switch done"}
{"level":30,"time":1796298546767,"pid":1592,"hostname":"vm","name":"m00003","step":"switch","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":26.6,"msg":"step switch done"}
{"level":30,"time":1796298547866,"pid":1592,"hostname":"vm","name":"m00003","step":"activate","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":1095.5,"msg":"step activate done"}
{"level":30,"time":1796298547990,"pid":1592,"hostname":"vm","name":"m00003","step":"health","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":34.6,"msg":"step health done"}
{"level":30,"time":1796298548010,"pid":1592,"hostname":"vm","name":"m00003","step":"commit","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":15.8,"msg":"step commit done"}
{"level":30,"time":1796298548026,"pid":1592,"hostname":"vm","name":"m00003","step":"undrain","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","generation":2,"ms":0.2,"msg":"step undrain done"}
{"level":30,"time":1796298548364,"pid":1592,"hostname":"vm","name":"m00003","commit":"b768aaf587a6347dc17f81ce9ba25fba0052fb5e","exitCode":0,"storeRequests":16,"sets":[{"set":"set-000","result":"converged","reason":"Succeeded"}],"msg":"tick finished"}`;

// A warm tick of m00050.log from the 100-agent run of 12:25 (heartbeat lines left out): the fetch turn is
// followed inside the tick, one "step turn" line per look, with the follow's waits between looks logged nowhere.
const FOLLOW = `{"level":20,"time":1796302039729,"pid":29544,"hostname":"vm","name":"m00050","trigger":"cron","why":"not-cheap","msg":"tick starting"}
{"level":30,"time":1796302039847,"pid":22050,"hostname":"vm","name":"m00050","step":"sync","ms":105.4,"msg":"step sync done"}
{"level":30,"time":1796302039848,"pid":22050,"hostname":"vm","name":"m00050","step":"testing-branch","ms":0,"msg":"step testing-branch done"}
{"level":30,"time":1796302039909,"pid":22050,"hostname":"vm","name":"m00050","step":"pause","set":"set-000","ms":34.3,"msg":"step pause done"}
{"level":30,"time":1796302039962,"pid":22050,"hostname":"vm","name":"m00050","step":"turn","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","ms":52.8,"msg":"step turn done"}
{"level":30,"time":1796302043027,"pid":22050,"hostname":"vm","name":"m00050","step":"turn","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","ms":186.3,"msg":"step turn done"}
{"level":30,"time":1796302050080,"pid":22050,"hostname":"vm","name":"m00050","step":"turn","set":"set-000","digest":"sha256:9bef062c9c805961671287dbc53f93bea7cd2ffef638368762d40a9cd91a4e63","ms":107.8,"msg":"step turn done"}
{"level":30,"time":1796302050107,"pid":22050,"hostname":"vm","name":"m00050","commit":"1bec0006fa865b8cf7445098a00b849cb860b04d","exitCode":3,"storeRequests":5,"sets":[{"set":"set-000","result":"waiting","reason":"WaitingForBatch"}],"msg":"tick finished"}`;

// Then a tick cut off by the daemon stopping.
const CUT = `{"level":20,"time":1796302060000,"pid":29544,"hostname":"vm","name":"m00050","trigger":"follow","why":"not-cheap","msg":"tick starting"}
{"level":30,"time":1796302060800,"pid":22050,"hostname":"vm","name":"m00050","step":"sync","ms":700,"msg":"step sync done"}
{"level":30,"time":1796302061000,"pid":29544,"hostname":"vm","name":"m00050","msg":"stopping: letting the running tick finish"}`;

const parse = (text: string): LogLine[] => text.split('\n').map((l) => JSON.parse(l) as LogLine);
const COMMIT_AT = 1796298500000;

describe('rolloutTicksOf', () => {
  const ticks = rolloutTicksOf(parse(REAL), COMMIT_AT, 1796298590000);
  const follow = rolloutTicksOf(parse(`${FOLLOW}\n${CUT}`), COMMIT_AT, 1796303000000);

  it('reads a started worker\'s start, its tick without the gate, activation and health the simulation runs itself, and the switch after the gate apart', () => {
    // After the gate (ended 1796298546509): fences, switch, commit, reports, less activation and health.
    const afterGateMs = Math.round(1796298548364 - 1796298546509 - 1095.5 - 34.6);
    expect(ticks[0]).toEqual({
      startAtMs: 1796298506775, workerStartMs: 1796298522693 - 1796298506775, afterGateMs,
      tickMs: Math.round(1796298548364 - 1796298522693 - 926.7 - 1095.5 - 34.6 - afterGateMs),
    });
  });

  it('times a warm worker\'s tick from the supervisor\'s "tick starting", less its fetch turn\'s whole follow (the waits between looks too)', () => {
    // The first look began at 1796302039962 − 52.8, the last ended at 1796302050080.
    expect(follow).toEqual([{ startAtMs: 1796302039729, tickMs: Math.round(1796302050107 - 1796302039729 - (1796302050080 - (1796302039962 - 52.8))) }]);
  });

  it('leaves out ticks begun before the commit and a tick that never finished', () => {
    expect(ticks.map((t) => t.startAtMs)).toEqual([1796298506775]);
    expect(follow.map((t) => t.startAtMs)).toEqual([1796302039729]);
    expect(rolloutTicksOf(parse(REAL), 0, COMMIT_AT).map((t) => t.startAtMs)).toEqual([1796298456549]);
    expect(rolloutTicksOf(parse(REAL), 0, COMMIT_AT)[0]?.workerStartMs).toBe(1796298462760 - 1796298456549);
  });
});

describe('rolloutSamplesOf', () => {
  it('keeps a started worker\'s start and tick at the same index, warm ticks apart, and the switches\' time after their gate', () => {
    const s = rolloutSamplesOf([
      { startAtMs: 1, workerStartMs: 900, tickMs: 5000 },
      { startAtMs: 2, tickMs: 300, afterGateMs: 2500 },
      { startAtMs: 3, workerStartMs: 100, tickMs: 7000, afterGateMs: 1200 },
    ]);
    expect(s).toEqual({ workerStartMs: [900, 100], coldTickMs: [5000, 7000], warmTickMs: [300], afterGateMs: [2500, 1200] });
  });

  it('with the commit\'s time, gives each sample its tick\'s start since the commit, in its list\'s order', () => {
    const s = rolloutSamplesOf([
      { startAtMs: 10_500, workerStartMs: 900, tickMs: 5000 },
      { startAtMs: 12_000, tickMs: 300, afterGateMs: 2500 },
      { startAtMs: 30_000, workerStartMs: 100, tickMs: 7000, afterGateMs: 1200 },
      { startAtMs: 41_000, tickMs: 200 },
    ], 10_000);
    expect(s).toMatchObject({ coldAtMs: [500, 20_000], warmAtMs: [2_000, 31_000], afterGateAtMs: [2_000, 20_000], warmTickMs: [300, 200] });
  });
});

describe('gateRequestMsOf', () => {
  it('divides a gate step\'s first decision time by its requests, for gate steps begun in the window', () => {
    const lines = parse(REAL);
    // The gate step ended at 1796298546509 after 926.7 ms; its decision, of 1 request, was logged at 1796298545786.
    expect(gateRequestMsOf(lines, COMMIT_AT, 1796298590000)).toEqual([1796298545786 - (1796298546509 - 926.7)]);
    expect(gateRequestMsOf(lines, 1796298546000, 1796298590000)).toEqual([]);
    const twoRequests = lines.map((l) => (l.msg === 'gate decision' ? { ...l, requests: 2 } : l));
    expect(gateRequestMsOf(twoRequests, COMMIT_AT, 1796298590000)).toEqual([(1796298545786 - (1796298546509 - 926.7)) / 2]);
  });
});
