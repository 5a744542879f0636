// Test wiring for the fake QMP server: starts fakes, connects sessions to them, and tears both
// down after each test, so test files only state behaviour. `replay(name, version)` starts a fake
// that expects exactly the commands of a transcript recorded from that QEMU and answers as it did.

import { QmpSession, type QmpConnectOptions } from '../session.js';
import { FakeQmpServer, type FakeQmpServerOptions } from './fake-qmp-server.js';
import {
  loadTranscript,
  replayExpectations,
  type QmpTranscript,
  type TranscriptVersion,
} from './transcript.js';

export class FakeQmpHarness {
  private readonly servers: FakeQmpServer[] = [];
  private readonly sessions: QmpSession[] = [];

  async server(options: FakeQmpServerOptions = {}): Promise<FakeQmpServer> {
    const server = await FakeQmpServer.start(options);
    this.servers.push(server);
    return server;
  }

  async connect(server: FakeQmpServer, options: QmpConnectOptions = {}): Promise<QmpSession> {
    const session = await QmpSession.connect(server.socketPath, { timeoutMs: 2000, ...options });
    this.sessions.push(session);
    return session;
  }

  /** A fake that replays transcript `name` of QEMU `version` and a session connected to it. */
  async replay(
    name: string,
    version: TranscriptVersion,
  ): Promise<{ server: FakeQmpServer; session: QmpSession; transcript: QmpTranscript }> {
    const transcript = loadTranscript(name, version);
    const server = await this.server({ version });
    server.expect(...replayExpectations(transcript));
    const session = await this.connect(server);
    return { server, session, transcript };
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.sessions.splice(0).map((session) => session.close()));
    await Promise.all(this.servers.splice(0).map((server) => server.close()));
  }
}
