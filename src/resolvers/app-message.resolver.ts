import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../context";
import { pageWindow } from "../db/paging";
import { fromGlobalId, toGlobalId } from "../schema/global-id";
import { Paged } from "../schema/cost";
import { SendAppMessageInput, SendAppMessagePayload } from "../schema/app-message.types";
import { MessageConnection, messageContentData } from "../schema/messaging.types";
import type { AppMessageSend } from "../services/app-message.service";
import { Transactional } from "./transactional";

/** The payload with the send it shows (what `messages` lists). */
type PayloadRoot = SendAppMessagePayload & { send: AppMessageSend };

/** App messages (issue 14 item 3): thin; the rules are in `AppMessageService`. */
@Resolver(() => SendAppMessagePayload)
export class AppMessageResolver {
  @Authorized("messages:send")
  @Mutation(() => SendAppMessagePayload, {
    description:
      "An app's message to members (WeCom's message/send): one message into each recipient's APP conversation, the app its sender, each recipient's `messageEvents` told. Recipients that do not exist, are not ACTIVE or are outside the app's visibility are listed in the payload, not an error. With `dedupeSeconds`, the same content to the same recipients again within that time sends nothing and returns the earlier send. For an app acting on its own: a member token gets FORBIDDEN.",
  })
  @Transactional()
  async sendAppMessage(
    @Arg("input", { description: "Recipients, content and the repeat window." }) input: SendAppMessageInput,
    @Ctx() ctx: RequestContext,
  ): Promise<PayloadRoot> {
    const send = await ctx.services.appMessages.send(ctx, {
      to: {
        memberPks: input.to.memberIds.map((id) => fromGlobalId(id, "Member", "input.to.memberIds")),
        departmentPks: input.to.departmentIds.map((id) => fromGlobalId(id, "Department", "input.to.departmentIds")),
        all: input.to.all,
      },
      content: messageContentData(input.message, "input.message"),
      dedupeSeconds: input.dedupeSeconds,
    });
    return Object.assign(new SendAppMessagePayload(), {
      send,
      deduplicated: send.deduplicated,
      messageCount: send.messageCount,
      invalidMemberIds: send.invalidMemberPks.map((pk) => toGlobalId("Member", pk)),
      invalidDepartmentIds: send.invalidDepartmentPks.map((pk) => toGlobalId("Department", pk)),
    });
  }

  @Paged()
  @FieldResolver(() => MessageConnection, { description: "The messages of the send, one per recipient (each in its APP conversation), by id." })
  messages(
    @Root() payload: PayloadRoot,
    @Ctx() ctx: RequestContext,
    @Arg("first", () => Int, { nullable: true, description: "Page size, at most 100 (default 20)." }) first?: number,
    @Arg("after", { nullable: true, description: "Cursor to start after." }) after?: string,
  ) {
    return ctx.services.appMessages.messages(ctx, payload.send, pageWindow({ first, after }));
  }
}
