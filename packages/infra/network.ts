/**
 * The VPC. RDS must live in one, and so must every runtime that talks to it: the Lambdas in the
 * private subnets, the API's Fargate tasks (SST places them in the public subnets with a public
 * IP, so they pull their image and reach AWS APIs without a NAT).
 */
import { stageSizing } from "./settings"

export function network() {
  const sizing = stageSizing($app.stage)

  const vpc = new sst.aws.Vpc("Vpc", {
    // The Lambdas need a way out of the private subnets for SQS (StartProcessing sends jobs) and,
    // under `sst dev`, for the Live bridge. Image bytes do not take it: see the S3 endpoint below.
    nat: sizing.nat,
    // `sst dev` and `sst tunnel` reach RDS through it; with `nat: "ec2"` it is the NAT instance.
    bastion: sizing.bastion
  })

  // Every image is read from and written to S3 by Lambdas in the private subnets: ~10 MB per image,
  // ~100 TB a day at 10M images. Through a NAT gateway that is $0.045/GB (~$4,500 a day); a gateway
  // endpoint is free and keeps the traffic inside AWS's network. The public route tables get it
  // too, so nothing in the VPC reaches S3 over the internet.
  new aws.ec2.VpcEndpoint("S3Endpoint", {
    vpcId: vpc.id,
    serviceName: $interpolate`com.amazonaws.${aws.getRegionOutput().region}.s3`,
    vpcEndpointType: "Gateway",
    routeTableIds: $resolve({
      privateTables: vpc.nodes.privateRouteTables,
      publicTables: vpc.nodes.publicRouteTables
    }).apply(({ privateTables, publicTables }) => [...privateTables, ...publicTables].map((table) => table.id))
  })

  return { vpc }
}
