import type { MigrationInterface } from "typeorm";
import { Init1795603406553 } from "./1795603406553-Init";
import { Apps1795800000000 } from "./1795800000000-Apps";
import { VendorSso1795800000001 } from "./1795800000001-VendorSso";
import { Import1795700000000 } from "./1795700000000-Import";
import { ImportErrorPerField1795900000100 } from "./1795900000100-ImportErrorPerField";
import { AppTokensValidAfter1795900000200 } from "./1795900000200-AppTokensValidAfter";
import { EventStreams1796000000000 } from "./1796000000000-EventStreams";
import { AppRateLimit1796100000000 } from "./1796100000000-AppRateLimit";
import { Messaging1796200000000 } from "./1796200000000-Messaging";
import { MessagingMemberIndexes1796200000100 } from "./1796200000100-MessagingMemberIndexes";
import { ReadReceipts1796200000200 } from "./1796200000200-ReadReceipts";
import { MessageReminders1796200000300 } from "./1796200000300-MessageReminders";
import { Deployment1796300000000 } from "./1796300000000-Deployment";
import { GroupBots1796400000000 } from "./1796400000000-GroupBots";
import { MessageAudit1796400000100 } from "./1796400000100-MessageAudit";
import { AppMessages1796500000000 } from "./1796500000000-AppMessages";
import { DoNotDisturb1796500000100 } from "./1796500000100-DoNotDisturb";
import { MessageRetention1796500000200 } from "./1796500000200-MessageRetention";
import { EventLogAppend1796600000000 } from "./1796600000000-EventLogAppend";

/** Every migration, oldest first (the DataSource and the TypeORM CLI run them in this order). */
export const MIGRATIONS: Array<new () => MigrationInterface> = [
  Init1795603406553,
  Import1795700000000,
  Apps1795800000000,
  VendorSso1795800000001,
  ImportErrorPerField1795900000100,
  AppTokensValidAfter1795900000200,
  EventStreams1796000000000,
  AppRateLimit1796100000000,
  Messaging1796200000000,
  MessagingMemberIndexes1796200000100,
  ReadReceipts1796200000200,
  MessageReminders1796200000300,
  Deployment1796300000000,
  GroupBots1796400000000,
  MessageAudit1796400000100,
  AppMessages1796500000000,
  DoNotDisturb1796500000100,
  MessageRetention1796500000200,
  EventLogAppend1796600000000,
];
