/**
 * A checkpoint store on Amazon S3 or any S3-compatible server, for {@code s3:} URIs. The AWS SDK
 * jars are automatic modules; they are required by their {@code Automatic-Module-Name}s.
 */
module dev.ckpt.store.s3 {
  requires dev.ckpt;
  requires org.slf4j;
  requires software.amazon.awssdk.services.s3;
  requires software.amazon.awssdk.services.kms;
  requires software.amazon.awssdk.core;
  requires software.amazon.awssdk.awscore;
  requires software.amazon.awssdk.auth;
  requires software.amazon.awssdk.identity.spi;
  requires software.amazon.awssdk.regions;
  requires software.amazon.awssdk.retries;
  requires software.amazon.awssdk.retries.api;
  requires software.amazon.awssdk.http;
  requires software.amazon.awssdk.http.apache5;
  requires software.amazon.awssdk.utils;

  exports dev.ckpt.store.s3;

  provides dev.ckpt.spi.StoreProvider with dev.ckpt.store.s3.S3StoreProvider;
}
