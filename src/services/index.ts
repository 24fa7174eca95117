import type { DataSource } from "typeorm";
import type { Pool } from "pg";
import { AppService } from "./app.service";
import { AppApiService } from "./app-api.service";
import { CredentialService } from "./credential.service";
import { CorpService } from "./corp.service";
import { DepartmentService } from "./department.service";
import { MemberService } from "./member.service";
import { DirectoryEventService } from "./directory-event.service";
import { ViewerService } from "./viewer.service";
import { ImportService } from "./import.service";
import { ExportService } from "./export.service";
import { HealthService } from "./health.service";
import { ConversationService } from "./conversation.service";
import { MessageService } from "./message.service";
import { MessageEventService } from "./message-event.service";
import { AppMessageService } from "./app-message.service";
import { DoNotDisturbService } from "./do-not-disturb.service";
import { MessageRetentionService } from "./message-retention.service";
import { systemClock } from "./clock";
import { RateLimitService } from "./rate-limit.service";
import { GroupBotService } from "./group-bot.service";
import { MessageAuditService } from "./message-audit.service";

/** Every domain service; resolvers reach them through `ctx.services`. */
export interface Services {
  apps: AppService;
  appApi: AppApiService;
  credentials: CredentialService;
  corps: CorpService;
  departments: DepartmentService;
  members: MemberService;
  directoryEvents: DirectoryEventService;
  viewer: ViewerService;
  imports: ImportService;
  exports: ExportService;
  health: HealthService;
  conversations: ConversationService;
  messages: MessageService;
  messageEvents: MessageEventService;
  appMessages: AppMessageService;
  doNotDisturb: DoNotDisturbService;
  messageRetention: MessageRetentionService;
  rateLimits: RateLimitService;
  groupBots: GroupBotService;
  messageAudit: MessageAuditService;
}

export function createServices(pool: Pool, dataSource: DataSource): Services {
  const apps = new AppService(pool);
  return {
    apps,
    appApi: new AppApiService(),
    credentials: new CredentialService(),
    corps: new CorpService(pool, dataSource, apps),
    departments: new DepartmentService(),
    members: new MemberService(),
    directoryEvents: new DirectoryEventService(),
    viewer: new ViewerService(),
    imports: new ImportService(pool),
    exports: new ExportService(),
    health: new HealthService(),
    conversations: new ConversationService(systemClock),
    messages: new MessageService(systemClock),
    messageEvents: new MessageEventService(systemClock),
    appMessages: new AppMessageService(systemClock),
    doNotDisturb: new DoNotDisturbService(),
    messageRetention: new MessageRetentionService(pool, systemClock),
    rateLimits: new RateLimitService(),
    groupBots: new GroupBotService(systemClock),
    messageAudit: new MessageAuditService(systemClock),
  };
}
