import { z } from 'zod';

/**
 * What a watch keeps over a restart: the episodes firing (by rule name, so that a table edited
 * since keeps the episodes of the rules it still has) and the devices it watches (so that one that
 * never speaks again after the restart still goes silent). No clock is kept: a restart starts them
 * all again. It holds subjects and devices, so it is kept sealed (./store.ts).
 */

const identifiers = z.record(z.string(), z.union([z.string(), z.number()]));

export const episodeRecordSchema = z.object({
  rule: z.string(),
  owner: z.string(),
  /** which start of the episode (instances sharing episodes compare it); absent in files of 0.1 */
  version: z.string().optional(),
  since: z.string(),
  vendor: z.string(),
  kind: z.string(),
  subject: identifiers.optional(),
  device: identifiers.optional(),
});

export const deviceRecordSchema = z.object({
  owner: z.string(),
  windowMs: z.number().positive(),
  /** 0, or when (ms) the reading it went silent after arrived */
  silentSince: z.number().min(0),
  vendor: z.string(),
  kind: z.string(),
  subject: identifiers.optional(),
  device: identifiers.optional(),
});

export const snapshotSchema = z.object({
  episodes: z.array(episodeRecordSchema),
  devices: z.array(deviceRecordSchema),
});

export type EpisodeRecord = z.infer<typeof episodeRecordSchema>;
export type DeviceRecord = z.infer<typeof deviceRecordSchema>;
export type WatchSnapshot = z.infer<typeof snapshotSchema>;
