export { CIVITAI_IMAGE_HOSTS, OutboundPolicy, RefusedUrlError, isBlockedAddress, type FetchPurpose, type OutboundPolicyOptions } from './outbound-policy';
