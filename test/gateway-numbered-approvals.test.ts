/**
 * Approvals and pairing on the doors without buttons — Matrix, Mattermost and DingTalk — end to end:
 * the real GatewayRunner, Agent and terminal tool, each platform's real client library against its
 * loopback fake, and the scripted upstream. The same scenarios run on every door: a dangerous command
 * waits for a numbered reply, "1" from the person who asked runs it and never reaches the agent as a
 * prompt; a number from someone else is ignored and an admin's is taken; no answer in time is a deny;
 * a stranger under `dm_policy: pairing` gets a code and nothing else until `herald pairing approve`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { runPairing } from '../src/cli/pairing-command.ts';
import type { HeraldConfig } from '../src/config/index.ts';
import { DingTalkPlatform } from '../src/gateway/platforms/dingtalk/index.ts';
import { MatrixPlatform } from '../src/gateway/platforms/matrix/index.ts';
import { MattermostPlatform } from '../src/gateway/platforms/mattermost/index.ts';
import { silentLogger } from '../src/logger.ts';
import { scriptRemoveBuild, startApprovalGateway, waitUntil } from './support/approval-gateway.ts';
import { FakeDingTalkApi } from './support/fake-dingtalk-api.ts';
import { startFakeMatrixHomeserver } from './support/fake-matrix-homeserver.ts';
import { startFakeMattermostApi } from './support/fake-mattermost-api.ts';

type Who = 'alice' | 'bob' | 'admin' | 'eve';
type Chat = 'dm' | 'group' | 'adminDm' | 'strangerDm';

/** One door under test: its people, its chats, and how to talk and look there. */
interface DoorRig {
  ids: Record<Who, string>;
  /** `who` writes `text` in `chat` (addressed to the bot in the group when `mention`). */
  say(chat: Chat, who: Who, text: string, mention?: boolean): void;
  /** What the bot shows in `chat`, each message's latest text, oldest first. */
  shown(chat: Chat): string[];
}

interface Door {
  name: string;
  /** Whether a settled prompt is edited in place (else the outcome follows as a new message). */
  edits: boolean;
  /** Whether a pairing code is offered to the admins in their DM. */
  offersPairing: boolean;
  start(
    t: { after: (fn: () => Promise<void>) => void },
    settings: Record<string, unknown>,
    approvals: Record<string, unknown>,
  ): Promise<{ rig: DoorRig; gateway: Awaited<ReturnType<typeof startApprovalGateway>> }>;
}

const matrix: Door = {
  name: 'Matrix',
  edits: true,
  offersPairing: true,
  async start(t, settings, approvals) {
    const fake = await startFakeMatrixHomeserver();
    const ids = {
      alice: '@alice:fake.test',
      bob: '@bob:fake.test',
      admin: '@admin:fake.test',
      eve: '@eve:fake.test',
    };
    const rooms: Record<Chat, string> = {
      dm: fake.createRoom({ members: [fake.botUserId, ids.alice] }),
      group: fake.createRoom({ members: [fake.botUserId, ids.alice, ids.bob, ids.admin] }),
      adminDm: fake.createRoom({ members: [fake.botUserId, ids.admin] }),
      strangerDm: fake.createRoom({ members: [fake.botUserId, ids.eve] }),
    };
    const gateway = await startApprovalGateway(t, {
      approvals,
      platforms: {
        matrix: {
          homeserver: fake.baseUrl,
          access_token: fake.accessToken,
          allowed_users: [ids.alice],
          admins: [ids.admin],
          ...settings,
        },
      },
      platform: (config) =>
        new MatrixPlatform({
          config: { ...config.platforms.matrix, homeserver: fake.baseUrl },
          logger: silentLogger(),
        }),
      closeFake: () => fake.close(),
    });
    const rig: DoorRig = {
      ids,
      say: (chat, who, text, mention) => {
        fake.sendAsUser(rooms[chat], ids[who], {
          msgtype: 'm.text',
          body: mention ? `${fake.botUserId}: ${text}` : text,
          ...(mention ? { 'm.mentions': { user_ids: [fake.botUserId] } } : {}),
        });
      },
      shown: (chat) => fake.botMessages(rooms[chat]).map((m) => String(m.content.body)),
    };
    return { rig, gateway };
  },
};

const mattermost: Door = {
  name: 'Mattermost',
  edits: true,
  offersPairing: true,
  async start(t, settings, approvals) {
    const fake = await startFakeMattermostApi();
    const ids = {
      alice: 'aliceuserid000000000000000',
      bob: 'bobuserid00000000000000000',
      admin: 'adminuserid000000000000000',
      eve: 'eveuserid00000000000000000',
    };
    const channels: Record<Chat, string> = {
      dm: 'dm-alice',
      group: 'town',
      // The fake's id of the bot's direct channel with the admin.
      adminDm: `direct_${[fake.botUserId, ids.admin].toSorted().join('__')}`,
      strangerDm: 'dm-eve',
    };
    const gateway = await startApprovalGateway(t, {
      approvals,
      platforms: {
        mattermost: {
          url: fake.url,
          token: fake.token,
          allowed_users: [ids.alice],
          admins: [ids.admin],
          ...settings,
        },
      },
      platform: (config) =>
        new MattermostPlatform({
          config: { ...config.platforms.mattermost, url: fake.url, token: fake.token },
          logger: silentLogger(),
        }),
      closeFake: () => fake.close(),
    });
    await fake.connected();
    /** The thread of the group request: answers go there, as people reply in Mattermost. */
    let groupThread: string | undefined;
    const rig: DoorRig = {
      ids,
      say: (chat, who, text, mention) => {
        const id = fake.post({
          channelId: channels[chat],
          userId: ids[who],
          message: mention ? `@herald ${text}` : text,
          channelType: chat === 'group' ? 'O' : 'D',
          ...(mention ? { mentions: [fake.botUserId] } : {}),
          ...(chat === 'group' && groupThread ? { rootId: groupThread } : {}),
        });
        if (chat === 'group' && mention) groupThread = id;
      },
      shown: (chat) => fake.botPosts(channels[chat]).map((p) => p.message),
    };
    return { rig, gateway };
  },
};

const dingtalk: Door = {
  name: 'DingTalk',
  edits: false,
  offersPairing: false,
  async start(t, settings, approvals) {
    const fake = await FakeDingTalkApi.start();
    const ids = { alice: 'staff-1', bob: 'staff-2', admin: 'boss-1', eve: 'staff-9' };
    const conversations: Record<Chat, string> = {
      dm: 'cid-private-alice',
      group: 'cid-group-1',
      adminDm: 'cid-private-admin',
      strangerDm: 'cid-private-eve',
    };
    const chatOf = new Map<string, Chat>();
    const gateway = await startApprovalGateway(t, {
      approvals,
      platforms: {
        dingtalk: {
          client_id: fake.clientId,
          client_secret: fake.clientSecret,
          api_root: fake.apiRoot,
          allowed_users: [ids.alice],
          admins: [ids.admin],
          ...settings,
        },
      },
      platform: (config) =>
        new DingTalkPlatform({
          config: {
            ...config.platforms.dingtalk,
            client_id: fake.clientId,
            client_secret: fake.clientSecret,
          },
          logger: silentLogger(),
        }),
      closeFake: () => fake.close(),
    });
    const rig: DoorRig = {
      ids,
      say: (chat, who, text) => {
        const msgId = fake.sendRobotMessage({
          text,
          userId: ids[who],
          conversationId: conversations[chat],
          isPrivate: chat !== 'group',
          ...(chat === 'group' ? { isInAtList: true } : {}),
        });
        chatOf.set(msgId, chat);
      },
      shown: (chat) =>
        fake.calls
          .filter((call) => chatOf.get(call.path.replace('/session/', '')) === chat)
          .map((call) => String(call.body.markdown.text)),
    };
    return { rig, gateway };
  },
};

const CHOICES =
  'Reply with a number:\n1 – approve once\n2 – approve for this conversation\n3 – always approve\n4 – deny';

for (const door of [matrix, mattermost, dingtalk]) {
  async function harness(
    t: { after: (fn: () => Promise<void>) => void },
    settings: Record<string, unknown> = {},
    approvals: Record<string, unknown> = {},
  ) {
    const { rig, gateway } = await door.start(t, settings, approvals);
    const { upstream, home } = gateway;
    const built = () => existsSync(join(home, 'workspace', 'build'));
    const userTurns = () =>
      upstream.requests.flatMap((r) =>
        r.body.messages
          .filter((m: { role: string }) => m.role === 'user')
          .map((m: { content: string }) => m.content),
      );
    const toolResult = (request: number) =>
      upstream.requests[request]!.body.messages.find((m: { role: string }) => m.role === 'tool')
        .content as string;
    /** Scripts `rm -rf build`, Alice asks in `chat`, resolves once the prompt shows. */
    const promptIn = async (chat: Chat) => {
      scriptRemoveBuild(upstream);
      rig.say(chat, 'alice', 'clean the build dir', chat === 'group');
      await waitUntil(() => rig.shown(chat).some((text) => text.includes(CHOICES)), 'approval prompt');
    };
    /** The prompt's outcome: its edited text, or the message that followed it. */
    const outcome = (chat: Chat) => {
      const texts = rig.shown(chat);
      const prompt = texts.findIndex((text) => text.includes('⚠ Approval needed: terminal'));
      return door.edits ? texts[prompt] : texts[prompt + 1];
    };
    return { ...gateway, rig, built, userTurns, toolResult, promptIn, outcome };
  }

  describe(`${door.name} approvals`, { timeout: 30_000 }, () => {
    it('"1" from the person who asked runs the command and never reaches the agent', async (t) => {
      const h = await harness(t);
      await h.promptIn('dm');
      const prompt = h.rig.shown('dm').find((text) => text.includes(CHOICES))!;
      assert.match(prompt, /⚠ Approval needed: terminal\n+rm -rf build\n+Why: .*deletes files recursively/);
      assert.ok(h.built(), 'nothing ran before the answer');
      h.rig.say('dm', 'alice', ' 1 ');
      await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
      await h.gateway.idle();
      assert.ok(!h.built(), 'the approved command ran');
      assert.match(h.outcome('dm')!, /✅ Approved once$/);
      if (door.edits) assert.doesNotMatch(h.outcome('dm')!, /Reply with a number/);
      await waitUntil(() => h.rig.shown('dm').includes('Cleaned up.'), 'the answer');
      assert.deepEqual(h.userTurns(), ['clean the build dir', 'clean the build dir']);
    });

    it('in a group ignores a number from someone else and takes the admin’s "4" as a deny', async (t) => {
      const h = await harness(t);
      await h.promptIn('group');
      h.rig.say('group', 'bob', '1');
      h.rig.say('group', 'admin', '4');
      await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
      await h.gateway.idle();
      assert.match(h.toolResult(1), /the user denied it/);
      assert.ok(h.built(), 'Bob’s "1" approved nothing');
      assert.match(h.outcome('group')!, /⛔ Denied$/);
      assert.deepEqual(h.userTurns(), ['clean the build dir', 'clean the build dir']);
    });

    it('an unanswered prompt times out as a deny and says so', async (t) => {
      const h = await harness(t, {}, { timeout_s: 1 });
      await h.promptIn('dm');
      await waitUntil(() => h.upstream.requests.length === 2, 'second model call');
      await h.gateway.idle();
      assert.match(h.toolResult(1), /nobody approved it within 1 s/);
      assert.ok(h.built());
      await waitUntil(() => /⏱ No answer in time: denied$/.test(h.outcome('dm') ?? ''), 'timeout shown');
    });

    it('gives a stranger a pairing code and nothing else until `herald pairing approve`', async (t) => {
      const h = await harness(t, { dm_policy: 'pairing' });
      h.rig.say('strangerDm', 'eve', 'hello?');
      await waitUntil(() => h.rig.shown('strangerDm').length === 1, 'pairing code');
      const code = /^Your pairing code: ([A-Z0-9]{6})\n/.exec(h.rig.shown('strangerDm')[0]!)![1]!;
      if (door.offersPairing) {
        await waitUntil(() => h.rig.shown('adminDm').length === 1, 'offer to the admin');
        assert.match(
          h.rig.shown('adminDm')[0]!,
          new RegExp(`pairing code ${code}\\).\\n\\nReply with a number:`),
        );
      }
      h.rig.say('strangerDm', 'eve', 'please answer');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await h.gateway.idle();
      assert.equal(h.rig.shown('strangerDm').length, 1, 'no second reply');
      assert.equal(h.upstream.requests.length, 0, 'no agent run for a stranger');

      const output = new PassThrough();
      let printed = '';
      output.on('data', (chunk) => {
        printed += String(chunk);
      });
      const config: HeraldConfig = h.config;
      await runPairing(config, { action: 'list', output });
      assert.match(printed, new RegExp(`^${code}  ${door.name.toLowerCase()}  ${h.rig.ids.eve}`));
      await runPairing(config, { action: 'approve', code, output });

      h.upstream.enqueue({ text: 'Hi, nice to meet you.' });
      h.rig.say('strangerDm', 'eve', 'hello again');
      await waitUntil(() => h.rig.shown('strangerDm').includes('Hi, nice to meet you.'), 'agent reply');
    });

    if (door.offersPairing) {
      it('the admin’s "1" on the offered code lets the stranger in', async (t) => {
        const h = await harness(t, { dm_policy: 'pairing' });
        h.rig.say('strangerDm', 'eve', 'hello?');
        await waitUntil(() => h.rig.shown('adminDm').length === 1, 'offer to the admin');
        h.rig.say('adminDm', 'admin', '1');
        await waitUntil(() => /✅ Let in$/.test(h.rig.shown('adminDm')[0]!), 'settled offer');
        assert.equal(await h.pairing.isPaired(door.name.toLowerCase(), h.rig.ids.eve), true);
        await h.gateway.idle();
        assert.equal(h.upstream.requests.length, 0, 'the admin’s "1" was no prompt to the agent');
      });
    }
  });
}
